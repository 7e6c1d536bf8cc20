"""The SSO session: found by its cookie, started at each sign-in, ended at logout."""

from __future__ import annotations

import secrets

from quart import request

from core import digest
from engine import assess
from observe import audit
from oidc.backchannel_logout import notify_logout
from oidc.cookies import SESSION, CookieJar, clear_cookie, session_cookie_digest
from oidc.provider import Provider
from store import AuthEvent, SessionRecord

MAX_USER_AGENT = 512


async def current_session(provider: Provider) -> SessionRecord | None:
    session_id = session_cookie_digest(provider, request)
    return await provider.store.sessions.get(session_id, provider.clock()) if session_id else None


async def start_session(
    provider: Provider, subject: str, events: list[AuthEvent], sid: str | None = None
) -> tuple[str, SessionRecord]:
    """A new session (and its cookie value) at every sign-in, against session fixation; the old
    one is ended. A run that only added to a session (step-up, consent) passes its `sid`, so the
    tokens issued in it still end with it. Set the cookie with `set_session_cookie`."""
    old = session_cookie_digest(provider, request)
    if old:
        await provider.store.sessions.delete(old)
    assurance = assess(events)
    value, now = secrets.token_urlsafe(32), provider.clock()
    session = SessionRecord(
        id=digest(value),
        sid=sid or secrets.token_urlsafe(16),
        subject=subject,
        auth_time=assurance.auth_time,
        amr=assurance.amr,
        acr=assurance.acr,
        events=events,
        created_at=now,
        expires_at=now + provider.session_lifetime,
        user_agent=request.headers.get("User-Agent", "")[:MAX_USER_AGENT] or None,
        address=request.remote_addr,
    )
    await provider.store.sessions.add(session)
    await _end_the_oldest(provider, subject, now)
    return value, session


async def _end_the_oldest(provider: Provider, subject: str, now: float) -> None:
    """Keep at most `max_sessions_per_user` live sessions: the oldest end first, as a logout
    ends them (a script signing in again and again would otherwise grow them without bound)."""
    sessions = provider.store.sessions
    excess = await sessions.count_for_subject(subject, now) - provider.max_sessions_per_user
    if excess <= 0:
        return  # the usual case: one count through the index, no session read
    for old in await sessions.oldest_for_subject(subject, now, excess):
        await end_server_side(provider, old)
        await audit(provider.store, "session_ended", subject=subject, sid=old.sid,
                    reason="too_many_sessions")


async def end_session(
    provider: Provider, session: SessionRecord | None, response: CookieJar
) -> None:
    """End the session server-side, and clear this browser's cookie."""
    if session is not None:
        await end_server_side(provider, session)
        await audit(provider.store, "logout", subject=session.subject, sid=session.sid)
    clear_cookie(provider, response, SESSION)


async def end_server_side(provider: Provider, session: SessionRecord) -> None:
    """End a session server-side (its browser's cookie then finds nothing), and the tokens issued
    in it that were not for offline use; clients with back-channel logout are told."""
    await provider.store.sessions.delete(session.id)
    await notify_logout(provider, session)
    await provider.store.grants.revoke_online(session.sid)
