"""What an administrator does to a user: find, create, change, disable, enable, delete, set a
password or send a link to choose one, remove second factors, lift a throttling block. Every change is audited with its actor.

A disabled user's sessions end (clients with back-channel logout are told) and their grants are
revoked; a run that finishes for them afterwards is refused (oidc/completions.py)."""

from __future__ import annotations

import secrets
from typing import Any

from admin.actors import Actor, Conflict, Invalid, NotFound, Unavailable
from mail import MailError
from observe import AuditKind, audit
from oidc import Provider, end_server_side
from steps import KIND as RECOVERY_CODES
from steps import PasswordPolicy, password_problem, unlock
from store import DuplicateError, UserRecord
from ui import RESET_LINK, CannotSend, cancel_reset_links, send_reset_link

SECOND_FACTORS = frozenset({"totp", "webauthn", RECOVERY_CODES})
POLICY_STEPS = ("change_password", "reset_password", "register")


async def find_user(provider: Provider, ref: str) -> UserRecord:
    """A user by id, or else by username or email."""
    user = await provider.store.users.get(ref) or await provider.store.users.find_by_login(ref)
    if user is None:
        raise NotFound(f"no user {ref!r}")
    return user


def password_policy(provider: Provider) -> PasswordPolicy:
    """The policy the sign-in pages apply to new passwords: that of the first step in flows.yaml
    that sets one (change_password, reset_password, register), else the default."""
    for flow in provider.engine.flows.flows.values():
        for step in flow.steps.values():
            if step.type in POLICY_STEPS and isinstance(
                policy := getattr(step.options, "password", None), PasswordPolicy
            ):
                return policy
    return PasswordPolicy.model_validate({})


async def _hashed(provider: Provider, user: UserRecord, password: str) -> str:
    policy = password_policy(provider)
    if problem := password_problem(policy, password, user.username, user.email):
        raise Invalid(
            f"{problem} A password needs {policy.min_length} to {policy.max_length} characters, is"
            " not one of the most common ones, and is not the username or email."
        )
    return await provider.engine.services.passwords.hash(password)


async def create_user(
    provider: Provider, actor: Actor, username: str, email: str | None = None,
    email_verified: bool = True, name: str | None = None, groups: list[str] | None = None,
    password: str | None = None,
) -> UserRecord:
    if "@" in username:
        raise Invalid("a username cannot contain @ (that is how emails are told apart)")
    user = UserRecord(
        id=secrets.token_urlsafe(16), username=username, email=email,
        email_verified=email is not None and email_verified,
        claims={"name": name} if name else {}, groups=groups or [], created_at=provider.clock(),
    )
    if password is not None:
        user.password_hash = await _hashed(provider, user, password)
    try:
        await provider.store.users.add(user)
    except DuplicateError as exc:
        raise Conflict("that username or email is taken") from exc
    await _audit(provider, actor, "user_created", user, username=username)
    return user


async def update_user(
    provider: Provider, actor: Actor, user: UserRecord, email: str | None = None,
    email_verified: bool | None = None, name: str | None = None, groups: list[str] | None = None,
    claims: dict[str, object] | None = None,
) -> UserRecord:
    """Change the fields given (not None); a claim set to None is removed."""
    changed: list[str] = []
    if email is not None and email != user.email:
        user.email, user.email_verified = email, False
        changed.append("email")
    if email_verified is not None:
        user.email_verified = email_verified and user.email is not None
        changed.append("email_verified")
    for key, value in ({**(claims or {}), **({"name": name} if name is not None else {})}).items():
        if key == "sub":
            raise Invalid("sub is the user's id and cannot be set")
        if value is None:
            user.claims.pop(key, None)
        else:
            user.claims[key] = value
        changed.append(f"claims.{key}")
    if groups is not None:
        user.groups = list(dict.fromkeys(groups))
        changed.append("groups")
    try:
        await provider.store.users.update(user)
    except DuplicateError as exc:
        raise Conflict("that email address is another user's") from exc
    await _audit(provider, actor, "user_updated", user, changed=changed)
    return user


async def set_password(provider: Provider, actor: Actor, user: UserRecord, password: str) -> None:
    if user.in_directory:
        raise Conflict("a user directory keeps this person's password")
    user.password_hash = await _hashed(provider, user, password)
    user.password_changed_at = provider.clock()
    await provider.store.users.update(user)
    await unlock(provider.store, user.id)
    await _audit(provider, actor, "password_set", user)


async def send_password_reset(provider: Provider, actor: Actor, user: UserRecord) -> float:
    """Mail the user a link to choose a new password (ui/reset_links.py); when it expires."""
    try:
        expires_at = await send_reset_link(provider, user)
    except CannotSend as exc:
        raise Conflict(str(exc)) from exc
    except MailError as exc:
        raise Unavailable(f"the email could not be sent: {exc}") from exc
    await _audit(provider, actor, "password_reset_sent", user, to=user.email)
    return expires_at


async def disable_user(provider: Provider, actor: Actor, user: UserRecord) -> UserRecord:
    await cancel_reset_links(provider, user.id)  # not to work again once enabled
    if not user.disabled:
        user.disabled_at = provider.clock()
        await provider.store.users.update(user)
        await _audit(provider, actor, "user_disabled", user)
    await _sign_out_everywhere(provider, actor, user)
    return user


async def enable_user(provider: Provider, actor: Actor, user: UserRecord) -> UserRecord:
    if user.disabled:
        user.disabled_at = None
        await provider.store.users.update(user)
        await _audit(provider, actor, "user_enabled", user)
    return user


async def delete_user(provider: Provider, actor: Actor, user: UserRecord) -> None:
    """Delete the user and everything kept for them; their sessions end first."""
    store = provider.store
    await _sign_out_everywhere(provider, actor, user)
    for credential in await store.credentials.for_user(user.id):
        await store.credentials.delete(credential.id)
    for identity in await store.identities.for_user(user.id):
        await store.identities.delete(identity.id)
    for consent in await store.consents.for_subject(user.id):
        await store.consents.delete(consent.client_id, user.id)
    await unlock(store, user.id)
    await store.users.delete(user.id)
    await _audit(provider, actor, "user_deleted", user, username=user.username)


async def remove_credential(
    provider: Provider, actor: Actor, user: UserRecord, credential_id: str
) -> None:
    credential = await provider.store.credentials.get(credential_id)
    if credential is None or credential.user_id != user.id:
        raise NotFound(f"user {user.username} has no credential {credential_id!r}")
    await provider.store.credentials.delete(credential.id)
    if credential.kind == RESET_LINK:  # no sign-in method: remembered browsers stay so
        await _audit(provider, actor, "password_reset_cancelled", user)
    else:
        await _factors_changed(provider, actor, user, [credential.kind])


async def reset_second_factors(provider: Provider, actor: Actor, user: UserRecord) -> int:
    """Remove every second factor (authenticator apps, passkeys, recovery codes): the user sets
    them up again at their next sign-in, as the flow asks. How many were removed."""
    removed = [
        c for c in await provider.store.credentials.for_user(user.id) if c.kind in SECOND_FACTORS
    ]
    for credential in removed:
        await provider.store.credentials.delete(credential.id)
    if removed:
        await _factors_changed(provider, actor, user, sorted({c.kind for c in removed}))
    return len(removed)


async def _factors_changed(
    provider: Provider, actor: Actor, user: UserRecord, kinds: list[str]
) -> None:
    # A browser remembered to skip a removed factor must not skip its replacement.
    user.devices_forgotten_at = provider.clock()
    await provider.store.users.update(user)
    await _audit(provider, actor, "mfa_changed", user, change="removed", methods=kinds)


async def unlock_user(provider: Provider, actor: Actor, user: UserRecord) -> int:
    cleared = await unlock(provider.store, user.id)
    await _audit(provider, actor, "unlocked", user, keys=cleared)
    return cleared


async def _sign_out_everywhere(provider: Provider, actor: Actor, user: UserRecord) -> None:
    """End every session of the user (back-channel logout included) and revoke every grant,
    offline ones too."""
    store = provider.store
    for session in await store.sessions.for_subject(user.id, provider.clock()):
        await end_server_side(provider, session)
        await _audit(provider, actor, "session_ended", user, sid=session.sid)
    for grant in await store.grants.for_subject(user.id, provider.clock()):
        await store.grants.revoke(grant.id)


async def _audit(
    provider: Provider, actor: Actor, kind: AuditKind, user: UserRecord, **details: Any
) -> None:
    await audit(provider.store, kind, subject=user.id,
                client_id=actor.client_id, by=actor.label, **details)
