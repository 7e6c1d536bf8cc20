"""The configured upstream providers as the server uses them, and the check that a flows file
offers only those."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core import OutboundHttp
from engine.loader import FlowSet
from federation.config import UpstreamProviderSettings
from federation.oauth2_upstream import OAuth2Upstream
from federation.oidc_upstream import OidcUpstream
from federation.upstream import Upstream
from steps.federated import FederatedStep


def upstreams_for(
    issuer: str, providers: Sequence[UpstreamProviderSettings], outbound: OutboundHttp
) -> dict[str, Upstream]:
    """The upstream providers by id, each with its own redirect URI under the issuer."""
    return {
        provider.id: (OidcUpstream if provider.protocol == "oidc" else OAuth2Upstream)(
            provider, f"{issuer}/federation/{provider.id}/callback", outbound
        )
        for provider in providers
    }


def check_offered(flows: FlowSet, upstreams: Mapping[str, Upstream]) -> None:
    """Raise ValueError unless every provider a `federated` step offers is configured."""
    for flow in flows.flows.values():
        for name, step in flow.steps.items():
            if isinstance(step, FederatedStep):
                where = f"flow {flow.name}, step {name}"
                if not upstreams:
                    raise ValueError(f"{where}: a federated step needs upstream_providers")
                unknown = sorted(set(step.settings.providers or ()) - set(upstreams))
                if unknown:
                    raise ValueError(
                        f"{where}: no upstream provider {', '.join(unknown)}"
                        f" (upstream_providers: {', '.join(upstreams)})"
                    )
