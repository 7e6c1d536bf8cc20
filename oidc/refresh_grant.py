"""The refresh_token grant (RFC 6749 §6, OIDC Core §12) with rotation and reuse detection."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from core import digest
from observe import audit
from oidc.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from oidc.profiles import is_fapi2
from oidc.provider import Provider
from oidc.token_response import token_response
from store import ClientRecord


async def refresh(
    provider: Provider, client: ClientRecord, form: MultiDict[str, str], jkt: str | None
) -> dict[str, Any]:
    token = form.get("refresh_token")
    if not token:
        raise InvalidRequestError("refresh_token is required")
    store, now, token_id = provider.store, provider.clock(), digest(token)
    record = await store.refresh_tokens.get(token_id, now)
    # RFC 6749 §6: the token must have been issued to the authenticated client.
    if record is None or record.client_id != client.client_id:
        raise InvalidGrantError(
            "the refresh token is invalid, expired, or issued to another client"
        )
    if record.jkt is not None and record.jkt != jkt:
        # RFC 9449 §5: checked before the token is used, so that a thief without the key
        # cannot spend it (and end the family) either.
        raise InvalidGrantError("the refresh token is bound to another DPoP key")
    scope = form.get("scope")
    if scope is not None and not set(scope.split()) <= set(record.scope.split()):
        raise InvalidScopeError("a refresh cannot widen the scope")
    # The grant is read before the token is used: the one request that uses it is answered even
    # when replays racing it revoke the family meanwhile (its new tokens then die with the family).
    grant = await store.grants.get(record.grant_id, now)
    if grant is None or grant.revoked:
        raise InvalidGrantError("the grant behind this refresh token has ended")
    if is_fapi2(provider.profile, client):
        # FAPI 2.0 §5.3.2.1: no rotation, so that a lost answer never strands the client; the
        # token stays bound to the client's authentication and lives to its own expiry.
        body = await token_response(provider, client, grant, scope=scope, jkt=jkt, rotate=False)
        await _audit(provider, client, body["scope"], grant.subject, grant.sid)
        return body
    redemption = await store.refresh_tokens.redeem(token_id, now, client.client_id)
    if redemption is None:
        raise InvalidGrantError("the refresh token has expired")
    if not redemption.first:
        # A used refresh token came back: one copy is stolen. End the whole family
        # (RFC 9700 §4.14.2), so neither the thief nor the client can go on with it.
        await store.grants.revoke(record.grant_id)
        raise InvalidGrantError("the refresh token was already used; its grant is revoked")
    body = await token_response(provider, client, grant, scope=scope, jkt=jkt)
    await _audit(provider, client, body["scope"], grant.subject, grant.sid)
    return body


async def _audit(
    provider: Provider, client: ClientRecord, scope: str, subject: str, sid: str | None
) -> None:
    await audit(
        provider.store, "token_issued", subject=subject, client_id=client.client_id,
        grant_type="refresh_token", scope=scope, sid=sid,
    )
