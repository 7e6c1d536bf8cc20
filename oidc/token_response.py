"""The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3): tokens minted for a grant."""

from __future__ import annotations

import secrets
from typing import Any

from core import digest
from oidc.claims import ID_TOKEN_SCOPE_CLAIMS, SCOPE_CLAIMS, user_claims
from oidc.provider import Provider
from oidc.tokens import issue_access_token, mint_id_token
from store import ClientRecord, GrantRecord, RefreshTokenRecord


async def token_response(
    provider: Provider,
    client: ClientRecord,
    grant: GrantRecord,
    scope: str | None = None,
    nonce: str | None = None,
    jkt: str | None = None,
    rotate: bool = True,
) -> dict[str, Any]:
    """An access token for `scope` (the grant's by default), an ID token, and a refresh token
    when the grant includes offline access. With `jkt`, the access token is bound to that DPoP
    key, and so is a public client's refresh token (RFC 9449 §5). Without `rotate`, a refresh
    answers without a new refresh token (the client keeps using its own)."""
    now = int(provider.clock())
    scope = scope or grant.scope
    access_token = await issue_access_token(provider, client, grant, scope, now, jkt=jkt)
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": provider.access_token_lifetime,
        "scope": scope,
    }
    if "openid" in scope.split():
        claims = await _id_token_claims(provider, client, grant)
        body["id_token"] = mint_id_token(provider, client, grant, access_token, now, nonce, claims)
    if rotate and "offline_access" in grant.scopes and client.issues_refresh_tokens:
        bound = jkt if client.is_public else None
        body["refresh_token"] = await _refresh_token(provider, client, grant, now, bound)
    return body


async def _id_token_claims(
    provider: Provider, client: ClientRecord, grant: GrantRecord
) -> dict[str, Any] | None:
    """Claims asked for in the ID token with the `claims` parameter (OIDC Core §5.5), and those
    of the granted scopes that go in it (`groups`)."""
    requested = [*grant.claims.get("id_token", []), *(
        claim for scope in grant.scopes for claim in SCOPE_CLAIMS.get(scope, ())
        if claim in ID_TOKEN_SCOPE_CLAIMS
    )]
    if not requested:
        return None
    user = await provider.store.users.get(grant.subject)
    return user_claims(user, client, [], requested) if user else None


async def _refresh_token(
    provider: Provider, client: ClientRecord, grant: GrantRecord, now: int, jkt: str | None
) -> str:
    token = secrets.token_urlsafe(32)  # 256 bits; only its digest is stored
    await provider.store.refresh_tokens.add(
        RefreshTokenRecord(
            id=digest(token),
            grant_id=grant.id,
            client_id=client.client_id,
            scope=grant.scope,  # RFC 6749 §6: a rotated refresh token keeps the original scope
            jkt=jkt,
            created_at=now,
            # Sliding: each rotation lives the idle lifetime, never past the grant's absolute end.
            expires_at=min(now + client.refresh_token_idle_lifetime, grant.expires_at),
        )
    )
    return token
