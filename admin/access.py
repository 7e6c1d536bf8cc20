"""What a user has given and holds: sessions, consents and grants; an administrator lists them
and ends or revokes them (ending a session tells clients with back-channel logout)."""

from __future__ import annotations

from admin.actors import Actor, NotFound
from observe import audit
from oidc import Provider, end_server_side
from store import ConsentRecord, Cursor, GrantRecord, SessionRecord, UserRecord


async def sessions_of(provider: Provider, user: UserRecord) -> list[SessionRecord]:
    return await provider.store.sessions.for_subject(user.id, provider.clock())


async def end_sessions(
    provider: Provider, actor: Actor, user: UserRecord, sid: str | None = None
) -> int:
    """End the user's session `sid` (every one when None); how many ended."""
    sessions = await sessions_of(provider, user)
    ending = [s for s in sessions if sid is None or s.sid == sid]
    if sid is not None and not ending:
        raise NotFound(f"user {user.username} has no session {sid!r}")
    for session in ending:
        await end_server_side(provider, session)
        await audit(provider.store, "session_ended", subject=user.id, client_id=actor.client_id,
                    by=actor.label, sid=session.sid)
    return len(ending)


async def consents_of(provider: Provider, user: UserRecord) -> list[ConsentRecord]:
    return await provider.store.consents.for_subject(user.id)


async def revoke_consent(
    provider: Provider, actor: Actor, user: UserRecord, client_id: str
) -> int:
    """Forget the user's consent to `client_id` (asked again next time) and revoke the grants
    that client holds for them; how many grants were revoked."""
    if await provider.store.consents.get(client_id, user.id) is None:
        raise NotFound(f"user {user.username} has no consent for {client_id!r}")
    await provider.store.consents.delete(client_id, user.id)
    revoked = 0
    for grant in await grants_of(provider, user):
        if grant.client_id == client_id:
            await provider.store.grants.revoke(grant.id)
            revoked += 1
    await audit(provider.store, "consent_revoked", subject=user.id, client_id=actor.client_id,
                by=actor.label, of_client=client_id, grants=revoked)
    return revoked


async def grants_of(provider: Provider, user: UserRecord) -> list[GrantRecord]:
    return await provider.store.grants.for_subject(user.id, provider.clock())


async def grants_page(
    provider: Provider, user: UserRecord, limit: int, after: Cursor | None
) -> list[GrantRecord]:
    """A page of the user's unexpired grants, newest first, revoked ones included."""
    return await provider.store.grants.page_for_subject(user.id, provider.clock(), limit, after)


async def revoke_grant(provider: Provider, actor: Actor, user: UserRecord, grant_id: str) -> None:
    """Revoke one grant: its refresh and access tokens stop working."""
    grant = await provider.store.grants.get(grant_id, provider.clock())
    if grant is None or grant.subject != user.id or grant.revoked:
        raise NotFound(f"user {user.username} has no grant {grant_id!r}")
    await provider.store.grants.revoke(grant_id)
    await audit(provider.store, "grant_revoked", subject=user.id, client_id=actor.client_id,
                by=actor.label, grant=grant_id)
