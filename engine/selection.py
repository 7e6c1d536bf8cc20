"""Which flow a new run follows (OIDC Core §3.1.2.1 `acr_values`, and `prompt=create` from
Initiating User Registration via OpenID Connect 1.0)."""

from __future__ import annotations

from engine.assurance import ACR_VALUES_SUPPORTED
from engine.model import FlowsFile
from engine.sign_in_request import Prompt, SignInRequest
from store import ClientRecord


def select_flow(spec: FlowsFile, client: ClientRecord, sign_in: SignInRequest) -> str:
    """In order: `prompt=create` -> the registration flow; for the first requested acr we know,
    its flow in `acr_flows`; the client's own `flow`; the default flow.

    `acr_values` are in order of preference (OIDC Core §3.1.2.1), so the search ends at the first
    known value: one without an `acr_flows` entry is the client's own flow's to reach, and a later,
    less preferred value must not pick a stronger flow instead. Unknown values are skipped.
    """
    if Prompt.CREATE in sign_in.prompt and spec.registration_flow:
        return spec.registration_flow
    for acr in sign_in.acr_values:
        if acr in spec.acr_flows:
            return spec.acr_flows[acr]
        if acr in ACR_VALUES_SUPPORTED:
            break
    return client.flow or spec.default_flow
