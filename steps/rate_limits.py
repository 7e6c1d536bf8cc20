"""Hourly limits on costly actions (mailing a code, hashing a new account's password), per key,
kept in the store so that they hold across worker processes.

Each key counts actions in a window of `WINDOW` seconds that starts with its first action. An
action is counted before the work it guards, by an insert or a versioned save retried when another
request counted first, so parallel requests cannot get past the limit together. The counts live in
the store's throttle records (`failures` is the count, `expires_at` the end of the window), under
keys of their own (`rate:...`). Client addresses are counted by network: an IPv6 host commonly
holds a whole /64, so its addresses count as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import N_, network_of
from steps.base import StepContext
from store import DuplicateError, StaleVersionError, Store, ThrottleRecord

WINDOW = 3600.0
TRIES = 64  # versioned updates lost to concurrent counts before giving up (and refusing)
TOO_MANY_SIGN_UPS = N_("Too many sign-ups from your network. Try again later.")
TOO_MANY_CODES = N_("Too many codes were sent to this address. Try again later.")


@dataclass(frozen=True)
class RateLimit:
    """At most `per_hour` actions of `kind` for one key of `scope` (`email`, `network`)."""

    kind: str
    scope: str
    per_hour: int


async def take(store: Store, now: float, limit: RateLimit, key: str) -> bool:
    """Count one action for `key`; False (nothing counted) when the limit is reached."""
    record_id = f"rate:{limit.kind}:{limit.scope}:{key}"
    for _ in range(TRIES):
        record = await store.throttles.get(record_id, now)
        fresh = record is None
        if record is None:
            record = ThrottleRecord(id=record_id, expires_at=now + WINDOW)
        if record.failures >= limit.per_hour:
            return False
        record.failures += 1
        try:
            await (store.throttles.add(record, now) if fresh else store.throttles.save(record))
        except (DuplicateError, StaleVersionError):
            continue  # another request counted first: count on top of it
        return True
    return False  # under a storm of parallel requests, refuse rather than miscount


async def take_all(ctx: StepContext, *limits: tuple[RateLimit, str | None]) -> bool:
    """Count one action on each (limit, key) in order, stopping at the first one that is full
    (later keys are then not counted); a None key (no client address known) is skipped."""
    for limit, key in limits:
        if key is not None and not await take(ctx.store, ctx.now, limit, key):
            return False
    return True


def client_network(ctx: StepContext) -> str | None:
    """The key of the request's client address, if known."""
    address = ctx.browser.client_address
    return network_of(address) if address else None
