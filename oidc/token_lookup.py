"""Finding what a presented token is, for revocation and introspection: one of our access tokens
(a JWT we signed) or one of our refresh tokens (looked up by digest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from core import digest
from oidc.errors import InvalidTokenError
from oidc.provider import Provider
from oidc.tokens import GRANT_CLAIM, access_token_claims, grant_of
from store import GrantRecord

TokenKind = Literal["access_token", "refresh_token"]


@dataclass(frozen=True)
class FoundToken:
    kind: TokenKind
    client_id: str
    grant: GrantRecord | None  # None once the grant has expired
    scope: str
    issued_at: float
    expires_at: float
    claims: dict[str, Any]

    @property
    def stored_grant(self) -> bool:
        """False for a token that carries its whole grant (`grant_of`)."""
        return self.kind == "refresh_token" or GRANT_CLAIM in self.claims

    def active(self, now: float) -> bool:
        return self.expires_at > now and self.grant is not None and not self.grant.revoked


async def find_token(provider: Provider, token: str, hint: str | None) -> FoundToken | None:
    """Our token, looked for first as the kind `hint` names (RFC 7009 §2.1: a hint, not a rule)."""
    order: list[TokenKind] = ["access_token", "refresh_token"]
    if hint == "refresh_token":
        order.reverse()
    for kind in order:
        found = await (_access_token if kind == "access_token" else _refresh_token)(provider, token)
        if found is not None:
            return found
    return None


async def _access_token(provider: Provider, token: str) -> FoundToken | None:
    try:
        claims = await access_token_claims(provider, token)
    except InvalidTokenError:
        return None
    grant = await grant_of(provider, claims)
    return FoundToken(
        "access_token",
        str(claims.get("client_id")),
        grant,
        str(claims.get("scope", "")),
        float(claims.get("iat", 0)),
        float(claims.get("exp", 0)),
        claims,
    )


async def _refresh_token(provider: Provider, token: str) -> FoundToken | None:
    now = provider.clock()
    record = await provider.store.refresh_tokens.get(digest(token), now)
    if record is None:
        return None
    grant = await provider.store.grants.get(record.grant_id, now)
    expires = record.expires_at if record.version == 0 else now  # a used one is spent
    return FoundToken(
        "refresh_token", record.client_id, grant, record.scope, record.created_at, expires, {}
    )
