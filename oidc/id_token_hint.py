"""ID tokens presented back to us: `id_token_hint` (OIDC Core §3.1.2.1, RP-Initiated Logout §2)
and token exchange's subject tokens (RFC 8693).

A hint may have expired, and the client need not be its audience; its signature and issuer must be
ours, and it must be an ID token: access and logout tokens are signed with the same keys, and
only their `typ` tells them apart.
"""

from __future__ import annotations

from typing import Any

from oidc.errors import InvalidRequestError
from oidc.keys import JoseError
from oidc.provider import Provider

ID_TOKEN_TYPE = "JWT"  # what `KeyRing.sign` writes for an ID token


def id_token_claims(provider: Provider, token: str | None) -> dict[str, Any] | None:
    """The claims of an ID token we signed, expired or not; None for anything else."""
    if not token:
        return None
    try:
        decoded = provider.keys.decode(token)
    except (JoseError, ValueError):
        return None
    claims: dict[str, Any] = decoded.claims
    if (
        claims.get("iss") != provider.issuer
        or decoded.header.get("typ") != ID_TOKEN_TYPE
        or not isinstance(claims.get("sub"), str)
    ):
        return None
    return claims


def hinted_subject(provider: Provider, hint: str | None) -> str | None:
    """The `sub` of a valid hint, None without one; `invalid_request` for a bad one."""
    if hint is None:
        return None
    claims = id_token_claims(provider, hint)
    if claims is None:
        raise InvalidRequestError("id_token_hint is not an ID token of this issuer")
    return str(claims["sub"])
