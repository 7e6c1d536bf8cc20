"""The FAPI 2.0 Security Profile (OpenID FAPI 2.0, final): a client setting `profile: fapi2`, or
the server-wide `profile: fapi2`, makes every rule below hold for a client, whatever else its
registration says. docs/conformance.md maps each requirement to its test.

- Authorization requests only through PAR (§5.3.2.2), with PKCE S256 (§5.3.2.2), and a
  `request_uri` only of PAR's.
- Client authentication by `private_key_jwt` (§5.3.2.1): settings refuse any other method.
- Sender-constrained access tokens (§5.3.2.1): a DPoP proof at every token request.
- JWS algorithms PS256 or ES256 (§5.4): for client assertions, request objects and DPoP proofs
  the client sends, and for the ID and access tokens (ES256) Gatehouse signs for it.
- Codes that live 60 seconds at most (§5.3.2.1).
- No refresh token rotation (§5.3.2.1): a refresh answers without a new refresh token, and the
  one the client holds keeps working, so a lost answer never strands the client.
- `iss` in every authorization response (RFC 9207): always the case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from oidc.errors import InvalidRequestError
from store import ClientRecord

if TYPE_CHECKING:
    from oidc.provider import Provider

FAPI2 = "fapi2"
FAPI2_ALGS = ["PS256", "ES256"]
FAPI2_SIGNING_ALG = "ES256"  # what Gatehouse signs with for a FAPI 2.0 client
FAPI2_MAX_CODE_LIFETIME = 60


def is_fapi2(server_profile: str | None, client: ClientRecord) -> bool:
    """Whether the profile holds for `client`: its own, or the server's (`server_profile`)."""
    return FAPI2 in (server_profile, client.profile)


def accepted_algs(server_profile: str | None, client: ClientRecord, algs: Sequence[str]) -> list[str]:
    """Of `algs`, those the client's profile lets it sign with."""
    if is_fapi2(server_profile, client):
        return [alg for alg in algs if alg in FAPI2_ALGS]
    return list(algs)


def signing_alg(server_profile: str | None, client: ClientRecord, registered: str) -> str:
    """The algorithm Gatehouse signs the client's tokens with: ES256 under the profile."""
    return FAPI2_SIGNING_ALG if is_fapi2(server_profile, client) else registered


def code_lifetime(provider: Provider, client: ClientRecord) -> int:
    lifetime = provider.code_lifetime
    return min(lifetime, FAPI2_MAX_CODE_LIFETIME) if is_fapi2(provider.profile, client) else lifetime


def check_authorization_request(
    provider: Provider, client: ClientRecord, params: Mapping[str, list[str]]
) -> None:
    """§5.3.2.2: PKCE is required of every FAPI 2.0 client, confidential ones too (its method,
    S256, is checked with every request's)."""
    if is_fapi2(provider.profile, client) and not params.get("code_challenge"):
        raise InvalidRequestError("code_challenge is required (FAPI 2.0: PKCE S256)")


def fapi2_problems(
    token_endpoint_auth_method: str, id_token_signed_response_alg: str,
    userinfo_signed_response_alg: str | None, request_object_signing_alg: str | None,
) -> list[str]:
    """Why a client's registration cannot hold under the profile (settings refuse it)."""
    problems = []
    if token_endpoint_auth_method != "private_key_jwt":
        problems.append("token_endpoint_auth_method must be private_key_jwt")
    if id_token_signed_response_alg != FAPI2_SIGNING_ALG:
        problems.append(f"id_token_signed_response_alg must be {FAPI2_SIGNING_ALG}")
    if userinfo_signed_response_alg not in (None, FAPI2_SIGNING_ALG):
        problems.append(f"userinfo_signed_response_alg must be {FAPI2_SIGNING_ALG} or unset")
    if request_object_signing_alg not in (None, *FAPI2_ALGS):
        problems.append("request_object_signing_alg must be PS256, ES256 or unset")
    return problems
