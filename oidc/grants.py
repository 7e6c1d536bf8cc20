"""Issuing an authorization code: the grant it stands for, and the code that redeems it once."""

from __future__ import annotations

import secrets

from core import digest
from oidc.authorize_request import AuthorizeRequest
from oidc.profiles import code_lifetime
from oidc.provider import Provider
from store import ClientRecord, CodeRecord, GrantRecord, SessionRecord


def grant_lifetime(provider: Provider, client: ClientRecord, scopes: list[str]) -> int:
    """How long the grant (and so anything issued from it) can be used."""
    if "offline_access" in scopes and client.issues_refresh_tokens:
        return client.refresh_token_absolute_lifetime
    return provider.code_lifetime + provider.access_token_lifetime


async def issue_code(
    provider: Provider, client: ClientRecord, req: AuthorizeRequest, session: SessionRecord
) -> str:
    now = provider.clock()
    grant = GrantRecord(
        id=secrets.token_urlsafe(16),
        client_id=client.client_id,
        subject=session.subject,
        scope=req.scope,
        sid=session.sid,
        auth_time=session.auth_time,
        amr=session.amr,
        acr=session.acr,
        claims=req.claims,
        created_at=now,
        expires_at=now + grant_lifetime(provider, client, req.scopes),
    )
    await provider.store.grants.add(grant)
    code = secrets.token_urlsafe(32)  # 256 bits; only its digest is stored
    await provider.store.codes.add(
        CodeRecord(
            id=digest(code),
            grant_id=grant.id,
            client_id=client.client_id,
            redirect_uri=req.redirect_uri,
            nonce=req.nonce,
            code_challenge=req.code_challenge,
            code_challenge_method=req.code_challenge_method,
            dpop_jkt=req.dpop_jkt,
            expires_at=now + code_lifetime(provider, client),
        )
    )
    return code
