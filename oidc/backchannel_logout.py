"""OpenID Connect Back-Channel Logout 1.0: when a session ends, every client that was given tokens
in it and registered a `backchannel_logout_uri` receives a logout token, server to server."""

from __future__ import annotations

import asyncio
import logging
import secrets

import httpx2

from core import OutboundRefused
from oidc.provider import Provider
from store import ClientRecord, SessionRecord

log = logging.getLogger("gatehouse.backchannel_logout")
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_LIFETIME = 120


def logout_token(provider: Provider, client: ClientRecord, session: SessionRecord) -> str:
    """§2.4: iss, aud, iat, exp, jti, events, and both sub and sid; never a nonce."""
    now = int(provider.clock())
    claims = {
        "iss": provider.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "sub": session.subject,
        "sid": session.sid,
        "events": {LOGOUT_EVENT: {}},
    }
    # §2.4: typ logout+jwt tells it apart from an ID token.
    return provider.keys.sign(claims, alg=client.id_token_signed_response_alg, typ="logout+jwt")


async def notify_logout(provider: Provider, session: SessionRecord) -> None:
    """Tell the session's clients, all at once, within the outbound timeout. A client that cannot
    be reached is logged; the person's logout goes on regardless."""
    grants = await provider.store.grants.for_session(session.sid)
    clients = [await provider.store.clients.get(c) for c in sorted({g.client_id for g in grants})]
    await asyncio.gather(
        *(_send(provider, c, session) for c in clients if c and c.backchannel_logout_uri)
    )


async def _send(provider: Provider, client: ClientRecord, session: SessionRecord) -> None:
    assert client.backchannel_logout_uri is not None
    try:
        answer = await provider.outbound.post_form(
            client.backchannel_logout_uri, {"logout_token": logout_token(provider, client, session)}
        )
    except (OutboundRefused, httpx2.HTTPError) as exc:
        log.warning("back-channel logout to %s failed: %s", client.client_id, exc)
        return
    if answer.status_code not in (200, 204):  # §2.8
        log.warning("back-channel logout to %s answered %s", client.client_id, answer.status_code)
