"""Throttling of guesses (passwords, codes) per account and per client address, kept in the store
so that it holds across processes.

After `max_failures` wrong answers in a row the key is blocked for a while, twice as long at each
lockout in a row (up to `MAX_LOCKOUT`); a right answer clears the account's count, never the
address's. Nothing locks anyone out for good: a block always ends, and a key is forgotten after
`QUIET` seconds without a failure (once any block has ended), so a shared address needs many
failures close together to be blocked. An unknown login is counted under the login itself,
exactly as an account would be, so a throttled page does not tell whether the account exists.
Each wrong guess is an audit event (`sign_in_failed`), and so is each lockout (`throttled`); a
guess refused while blocked is counted in the metrics.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from observe.audit import audit
from observe.metrics import count_throttled
from steps.base import Page, StepContext
from store import DuplicateError, StaleVersionError, Store
from store.records import ThrottleRecord
from ui.messages import N_

THROTTLED = N_("Too many attempts. Try again in %(wait)s.")
FIRST_LOCKOUT = 60.0
MAX_LOCKOUT = 15 * 60.0
QUIET = 15 * 60.0  # a key with no failure for this long after its block is forgotten
TRIES = 64  # versioned updates lost to concurrent failures before giving up on counting one


@dataclass(frozen=True)
class Limit:
    scope: str
    max_failures: int


ACCOUNT = Limit("account", 5)
ADDRESS = Limit("ip", 30)  # people behind one address (an office, a carrier NAT) share it


@dataclass(frozen=True)
class Guess:
    """How a guess went: right, or wrong; `wait` > 0 when the next one must wait (then a guess
    made while blocked was not even checked)."""

    right: bool
    wait: float = 0


def lockout_seconds(lockouts: int) -> float:
    return min(FIRST_LOCKOUT * 2.0 ** (lockouts - 1), MAX_LOCKOUT)


class Throttle:
    """The keys of one kind of guess (`password`, `totp`...) for an account and an address."""

    @classmethod
    def of(
        cls, ctx: StepContext, kind: str, account: str | None, subject: str | None = None
    ) -> Throttle:
        """`account` None: a step that counts per account itself throttles only the address.
        `subject`: the user the guess is for, when the page may say there is one (audit)."""
        return cls(ctx.store, kind, account, ctx.browser.client_address, subject)

    def __init__(
        self, store: Store, kind: str, account: str | None, address: str | None,
        subject: str | None = None,
    ) -> None:
        self.store, self.kind, self.subject, self.address = store, kind, subject, address
        self.keys: list[tuple[str, Limit]] = []
        if account is not None:
            self.keys.append((f"{kind}:{ACCOUNT.scope}:{account}", ACCOUNT))
        if address:
            self.keys.append((f"{kind}:{ADDRESS.scope}:{address}", ADDRESS))

    async def guess(self, now: float, check: Callable[[], Awaitable[bool]]) -> Guess:
        """Run `check` unless a key is blocked; count a wrong answer, clear the account's count
        after a right one (a write only when there was something to clear)."""
        records = [await self.store.throttles.get(key, now) for key, _ in self.keys]
        blocking = [(limit, r) for (_, limit), r in zip(self.keys, records, strict=True)
                    if r is not None and r.blocked_until > now]
        if blocking:
            for limit, _ in blocking:
                count_throttled(self.kind, limit.scope)
            return Guess(False, max(r.blocked_until for _, r in blocking) - now)
        if await check():
            for (key, limit), record in zip(self.keys, records, strict=True):
                if limit is ACCOUNT and record is not None:
                    await self.store.throttles.delete(key)
            return Guess(True)
        await audit(self.store, "sign_in_failed", subject=self.subject, address=self.address,
                    guess=self.kind)
        return Guess(False, max(await self.failed(now) - now, 0))

    async def failed(self, now: float) -> float:
        """Count a wrong answer on every key; the time the next guess may come."""
        until = 0.0
        for key, limit in self.keys:
            until = max(until, await self._count(key, limit, now))
        return until

    async def _count(self, key: str, limit: Limit, now: float) -> float:
        for _ in range(TRIES):
            record = await self.store.throttles.get(key, now)
            fresh = record is None
            if record is None:
                record = ThrottleRecord(id=key, expires_at=now + QUIET)
            record.failures += 1
            locking = record.failures >= limit.max_failures
            if locking:
                record.lockouts += 1
                record.failures = 0
                record.blocked_until = now + lockout_seconds(record.lockouts)
            record.expires_at = max(now, record.blocked_until) + QUIET
            try:
                await (
                    self.store.throttles.add(record, now) if fresh
                    else self.store.throttles.save(record)
                )
            except (DuplicateError, StaleVersionError):
                continue  # another request counted first: count on top of it
            if locking:
                await audit(
                    self.store, "throttled", subject=self.subject if limit is ACCOUNT else None,
                    address=self.address, guess=self.kind, scope=limit.scope, lockout=record.lockouts,
                    seconds=lockout_seconds(record.lockouts),
                )
            return record.blocked_until
        return now + lockout_seconds(1)  # under a storm of guesses, treat it as blocked


def throttled(page: Page, field: str, wait: float) -> Page:
    """The page again, saying how long to wait (the engine keeps the run where it is)."""
    page.errors[field] = THROTTLED
    page.values["retry_in"] = wait
    return page
