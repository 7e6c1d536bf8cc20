"""Which kinds of credential a user has: a password, or the credentials in the store."""

from __future__ import annotations

from typing import Literal

from steps.base import StepContext

CredentialKind = Literal["password", "totp", "webauthn", "recovery_codes"]


async def credential_kinds(ctx: StepContext) -> set[str]:
    """The kinds of credential of the user identified so far (empty before anyone is)."""
    user = await ctx.user()
    if user is None:
        return set()
    kinds = {credential.kind for credential in await ctx.store.credentials.for_user(user.id)}
    return kinds | ({"password"} if user.password_hash is not None else set())
