"""Throttling of guesses (passwords, codes), kept in the store so that it holds across processes.

A guess holds a place on each of its keys *before* it is checked (a versioned write), and a key
has only as many places as it has failures left before its limit: guesses sent at once cannot
all be checked while the first ones are still being hashed. A guess that finds no place waits
for one (the guesses ahead of it were right, and gave theirs back) or for the block they end in.
Three keys hold a guess at an account:

- the account from one client address (`ACCOUNT_AT_ADDRESS`, 5): blocks one guesser quickly;
- the account from everywhere (`ACCOUNT`, 30, Keycloak's default): a browser that has signed in
  to the account (a live session, or a remembered device) is not held by it, so failures that
  came from elsewhere cannot lock its owner out;
- the client address for every account (`ADDRESS`, 30): password spraying from one place.

A block lasts a minute, twice as long at each lockout in a row (up to `MAX_LOCKOUT`), and always
ends; a key is forgotten `QUIET` seconds after its last failure or block. A right answer clears
the account's counts; a successful password reset, or an operator's `gatehouse users unlock`,
lifts every block of the account (`unlock`). An unknown login is counted exactly as an account
would be, so a block never tells whether the account exists. Each wrong guess is an audit event
(`sign_in_failed`), and so is each lockout (`throttled`); a guess refused while blocked is
counted in the metrics.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core import N_
from observe import audit, count_throttled
from steps.base import Page, StepContext
from store import DuplicateError, StaleVersionError, Store, ThrottleRecord

THROTTLED = N_("Too many attempts. Try again in %(wait)s.")
FIRST_LOCKOUT = 60.0
MAX_LOCKOUT = 15 * 60.0
QUIET = 15 * 60.0  # a key with no failure for this long after its block is forgotten
TRIES = 64  # versioned updates lost to concurrent guesses before giving up on one
# A place held by a guess lapses after HOLD seconds, should its process die mid-check; a guess
# waits a little longer than that for a place, so places a crash left behind delay the next
# guesses but never refuse them. A check slower than HOLD (a directory near its timeout) may
# let one more guess be checked beside it.
HOLD = 10.0
WAIT = HOLD + 1.0
FIRST_POLL, MAX_POLL = 0.02, 0.2


@dataclass(frozen=True)
class Limit:
    scope: str
    max_failures: int


ACCOUNT_AT_ADDRESS = Limit("account_ip", 5)
ACCOUNT = Limit("account", 30)
ADDRESS = Limit("ip", 30)  # people behind one address (an office, a carrier NAT) share it


@dataclass(frozen=True)
class Guess:
    """How a guess went: right, or wrong; `wait` > 0 when the next one must wait (then a guess
    made while blocked was not even checked)."""

    right: bool
    wait: float = 0


@dataclass(frozen=True)
class _Place:
    key: str
    limit: Limit
    token: str


class _Blocked(Exception):
    def __init__(self, until: float) -> None:
        self.until = until


class _Full(Exception):
    """Every failure left before the limit is held by a guess being checked."""


def login_key(login: str) -> str:
    """The account key of a login as typed. Guesses at a username and at its account's email
    address are counted apart, as they are for a login nobody has: a block on one that also
    held the other would tell that both name one account."""
    return f"login:{login.lower()}"


def lockout_seconds(lockouts: int) -> float:
    return min(FIRST_LOCKOUT * 2.0 ** (lockouts - 1), MAX_LOCKOUT)


class Throttle:
    """The keys of one kind of guess (`password`, `totp`...) for an account and an address."""

    @classmethod
    def of(
        cls, ctx: StepContext, kind: str, account: str | None, subject: str | None = None
    ) -> Throttle:
        """`account` None: a step that counts per account itself throttles only the address.
        `subject`: the user the guess is for, when there is one (audit, `unlock`, and a browser
        that has signed in to it is not held by the account-wide key)."""
        known = subject is not None and ctx.browser.knows(subject)
        return cls(ctx.store, kind, account, ctx.browser.client_address, subject, known)

    def __init__(
        self, store: Store, kind: str, account: str | None, address: str | None,
        subject: str | None = None, known_browser: bool = False,
    ) -> None:
        self.store, self.kind, self.subject, self.address = store, kind, subject, address
        self.keys: list[tuple[str, Limit]] = []
        if account is not None:
            if address:
                self.keys.append(
                    (f"{kind}:{ACCOUNT_AT_ADDRESS.scope}:{address}:{account}", ACCOUNT_AT_ADDRESS)
                )
            if not known_browser:
                self.keys.append((f"{kind}:{ACCOUNT.scope}:{account}", ACCOUNT))
        if address:
            self.keys.append((f"{kind}:{ADDRESS.scope}:{address}", ADDRESS))

    async def guess(self, now: float, check: Callable[[], Awaitable[bool]]) -> Guess:
        """Run `check` once the guess holds a place on every key, unless a key is blocked; count
        a wrong answer, clear the account's counts after a right one."""
        try:
            places = await self._places(now)
        except _Blocked as refusal:
            for _, limit in self.keys:
                count_throttled(self.kind, limit.scope)
            return Guess(False, refusal.until - now)
        try:
            right = await check()
        except BaseException:
            await self._settle(places, now, None)  # nothing was checked: no count
            raise
        locked = await self._settle(places, now, right)
        if right:
            return Guess(True)
        await audit(self.store, "sign_in_failed", subject=self.subject, address=self.address,
                    guess=self.kind)
        for limit, lockouts in locked:
            await audit(
                self.store, "throttled", subject=self.subject if limit is not ADDRESS else None,
                address=self.address, guess=self.kind, scope=limit.scope, lockout=lockouts,
                seconds=lockout_seconds(lockouts),
            )
        return Guess(False, max((lockout_seconds(n) for _, n in locked), default=0))

    async def _places(self, now: float) -> list[_Place]:
        """A place on every key, waiting up to `WAIT` for keys that are full; `_Blocked`."""
        poll, waited = FIRST_POLL, 0.0
        while True:
            places: list[_Place] = []
            try:
                for key, limit in self.keys:
                    places.append(await self._hold(key, limit, now + waited))
                return places
            except _Full:
                await self._settle(places, now, None)
            except _Blocked:
                await self._settle(places, now, None)
                raise
            if waited >= WAIT:
                raise _Blocked(now + WAIT)
            await asyncio.sleep(poll)
            waited, poll = waited + poll, min(poll * 2, MAX_POLL)

    async def _hold(self, key: str, limit: Limit, now: float) -> _Place:
        token = secrets.token_hex(8)
        for _ in range(TRIES):
            record = await self.store.throttles.get(key, now)
            fresh = record is None
            if record is None:
                tag = self.subject if limit is not ADDRESS else None
                record = ThrottleRecord(id=key, account=tag, expires_at=now + QUIET)
            if record.blocked_until > now:
                raise _Blocked(record.blocked_until)
            record.pending = {t: until for t, until in record.pending.items() if until > now}
            if record.failures + len(record.pending) >= limit.max_failures:
                raise _Full
            record.pending[token] = now + HOLD
            record.expires_at = max(record.expires_at, now + HOLD + QUIET)
            try:
                await (
                    self.store.throttles.add(record, now) if fresh
                    else self.store.throttles.save(record)
                )
            except (DuplicateError, StaleVersionError):
                continue  # another guess came first: try on top of it
            return _Place(key, limit, token)
        raise _Full  # a storm of guesses: wait as for a full key

    async def _settle(
        self, places: list[_Place], now: float, right: bool | None
    ) -> list[tuple[Limit, int]]:
        """Give the places back: a wrong answer (`right` False) is counted, a right one clears
        an account's counts, and an unchecked guess (None) leaves no trace. The limits this
        guess blocked, with their lockouts in a row."""
        locked: list[tuple[Limit, int]] = []
        for place in places:
            for _ in range(TRIES):
                record = await self.store.throttles.get(place.key, now)
                if record is None:
                    break
                record.pending.pop(place.token, None)
                locking = False
                if right is False:
                    record.failures += 1
                    locking = record.failures >= place.limit.max_failures
                    if locking:
                        record.lockouts += 1
                        record.failures = 0
                        record.blocked_until = now + lockout_seconds(record.lockouts)
                    record.expires_at = max(now, record.blocked_until) + QUIET
                elif right and place.limit is not ADDRESS:
                    record.failures = record.lockouts = 0
                try:
                    if record.failures or record.lockouts or record.pending:
                        await self.store.throttles.save(record)
                    elif not await self.store.throttles.delete(record.id, record.version):
                        continue  # another guess came meanwhile
                except StaleVersionError:
                    continue
                if locking:
                    locked.append((place.limit, record.lockouts))
                break
        return locked


async def unlock(store: Store, subject: str) -> int:
    """Lift every block and count of a user's account (after a password reset, or by an
    operator); the number of keys cleared."""
    return await store.throttles.clear_account(subject)


def throttled(page: Page, field: str, wait: float) -> Page:
    """The page again, saying how long to wait (the engine keeps the run where it is)."""
    page.errors[field] = THROTTLED
    page.values["retry_in"] = wait
    return page
