"""Signing keys for an administrator: listed with their state, and rotated as `gatehouse keys
rotate` does (the next key is published first and signs `activate_in` seconds later)."""

from __future__ import annotations

from typing import Literal

from admin.actors import Actor, Invalid
from observe import audit
from oidc import SUPPORTED_ALGS, Provider, rotate
from store import SigningKeyRecord

KeyState = Literal["next", "signing", "verifying", "retired"]


def key_state(provider: Provider, record: SigningKeyRecord) -> KeyState:
    now = provider.clock()
    if record.retires_at is not None and record.retires_at <= now:
        return "retired"
    if record.activates_at > now:
        return "next"
    return "signing" if provider.keys.signing_kid(record.alg) == record.kid else "verifying"


async def all_keys(provider: Provider) -> list[SigningKeyRecord]:
    return await provider.store.keys.all()


async def rotate_keys(
    provider: Provider, actor: Actor, alg: str | None, activate_in: float
) -> list[SigningKeyRecord]:
    """The next key of `alg` (of every algorithm when None); the current ones keep verifying
    until the tokens they signed have expired."""
    if alg is not None and alg not in SUPPORTED_ALGS:
        raise Invalid(f"alg must be one of {', '.join(SUPPORTED_ALGS)}")
    tokens_live = max(provider.id_token_lifetime, provider.access_token_lifetime)
    added = [
        await rotate(provider.store, provider.engine.services.sealer, each, activate_in,
                     tokens_live, provider.clock())
        for each in ((alg,) if alg else SUPPORTED_ALGS)
    ]
    provider.keys = await provider.keys.reloaded(provider.store)
    for key in added:
        await audit(provider.store, "key_rotated", client_id=actor.client_id, by=actor.label,
                    kid=key.kid, alg=key.alg, activates_at=key.activates_at)
    return added
