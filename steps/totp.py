"""`totp`: a code from an authenticator app (RFC 6238), for the user identified so far.

A code of the current 30-second time step or the one before or after is accepted, once: the
credential keeps the last time step used, and a code of that step or an earlier one is a replay.
Every checked code counts against the credential (not the run) before it is compared, so
parallel guesses cannot share a try; after `max_failures` wrong codes in a row the factor is
locked for `lockout_seconds` (doubled at each lockout in a row, up to a day), whatever is typed.
Wrong codes are also throttled per account and per client address (steps/throttling.py), and the
page says how long to wait. A user who proved possession already in this run or its session
passes without a page (step-up).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import pyotp
from pydantic import BaseModel, ConfigDict, Field
from pyotp.exceptions import OTPVerificationError

from core import N_
from steps.base import Outcome, Page, Step, StepContext
from steps.throttling import Throttle, throttled
from store import CredentialRecord, StaleVersionError, UserRecord

log = logging.getLogger("gatehouse.steps")

KIND = "totp"
MAX_CODE_INPUT = 32
MAX_LOCKOUT = 24 * 3600
WRONG_CODE = N_("That code is not right. Check the time on your device and try again.")
ENTER_CODE = N_("Enter the code your authenticator app shows.")
REPLAYED_CODE = N_("That code was already used. Wait for the next one.")
NO_AUTHENTICATOR = N_("No authenticator app is set up for this account.")
NO_USER = N_("Sign in first: we do not know who you are yet.")


def normalise_code(typed: str, digits: int) -> str | None:
    """The code as typed without spaces; None unless it is exactly `digits` ASCII digits."""
    code = "".join(typed.split())[:MAX_CODE_INPUT]
    return code if re.fullmatch(rf"[0-9]{{{digits}}}", code) else None


def matched_step(secret: str, digits: int, code: str, now: float) -> int | None:
    """The time step whose code `code` is (the current one, or one either side), else None."""
    try:
        return pyotp.TOTP(secret, digits=digits).verify_and_get_timecode(
            code, for_time=now, valid_window=1
        )
    except OTPVerificationError:
        return None


async def totp_credential(ctx: StepContext, user: UserRecord) -> CredentialRecord | None:
    """The user's authenticator app (the oldest, should there be several)."""
    found = [c for c in await ctx.store.credentials.for_user(user.id) if c.kind == KIND]
    return found[0] if found else None


def _blocked_for(data: Mapping[str, Any], now: float) -> float:
    """Seconds the credential stays locked after too many wrong codes (0 when it is not)."""
    return max(float(data.get("blocked_until", 0)) - now, 0.0)


def misplaced(ctx: StepContext, template: str) -> Page:
    """The page for a flow that asks for TOTP before anyone is identified (a flows.yaml mistake)."""
    log.warning("step %s (%s) runs before a user is identified", ctx.step_name, template)
    return Page(template, {"usable": False}, {"page": NO_USER})


class TotpOptions(BaseModel):
    """Options of `totp`."""

    model_config = ConfigDict(extra="forbid")

    max_failures: int = Field(
        5, ge=1, description="Wrong codes in a row before the authenticator app is locked."
    )
    lockout_seconds: int = Field(
        300, ge=1, description="Seconds the authenticator app stays locked after too many wrong codes."
    )


class TotpStep(Step):
    type = "totp"
    Options = TotpOptions
    outcomes = frozenset({"success"})
    template = "flow/totp.html"

    @property
    def settings(self) -> TotpOptions:
        assert isinstance(self.options, TotpOptions)
        return self.options

    def _page(self, errors: dict[str, str] | None = None, usable: bool = True) -> Page:
        return Page(self.template, {"usable": usable}, errors or {})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.proved("possession"):
            return Outcome("success")  # proved already in this run or its session (step-up)
        user = await ctx.user()
        if user is None:
            return misplaced(ctx, self.template)
        if await totp_credential(ctx, user) is None:
            return self._page({"page": NO_AUTHENTICATOR}, usable=False)
        return self._page()

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        user = await ctx.user()
        if user is None:
            return misplaced(ctx, self.template)
        credential = await totp_credential(ctx, user)
        if credential is None:
            return self._page({"page": NO_AUTHENTICATOR}, usable=False)
        data = credential.data
        typed = form.get("code", "")
        if not typed.strip():
            return self._page({"code": ENTER_CODE})
        if _blocked_for(data, ctx.now):
            return throttled(self._page(), "code", _blocked_for(data, ctx.now))
        digits = int(data.get("digits", 6))
        code = normalise_code(typed, digits)
        if code is None:
            return self._page({"code": WRONG_CODE})  # cannot match: not worth a try
        refusal = [WRONG_CODE]

        async def right() -> bool:
            if not await self._count_try(ctx, credential):
                return False  # a parallel request used the credential
            step = matched_step(ctx.services.sealer.open(data["secret"]), digits, code, ctx.now)
            if step is not None and step <= int(data.get("last_step", -1)):
                refusal[0] = REPLAYED_CODE
            if step is None or refusal[0] == REPLAYED_CODE:
                return False
            data.update(last_step=step, failures=0, lockouts=0, blocked_until=0)
            credential.last_used_at = ctx.now
            try:
                await ctx.store.credentials.update(credential)
            except StaleVersionError:  # a parallel request came first: this code counts as used
                refusal[0] = REPLAYED_CODE
                return False
            return True

        # The credential counts tries per account (and serialises them); this adds the address.
        guess = await Throttle.of(ctx, KIND, None, subject=user.id).guess(ctx.now, right)
        wait = max(guess.wait, _blocked_for(data, ctx.now))
        if wait:
            return throttled(self._page(), "code", wait)
        if not guess.right:
            return self._page({"code": refusal[0]})
        ctx.record_authentication("otp", "possession")
        return Outcome("success")

    async def _count_try(self, ctx: StepContext, credential: CredentialRecord) -> bool:
        """Save one more try on the credential before comparing; the try that reaches
        `max_failures` locks it (a right code unlocks it again). False if another request
        updated the credential first."""
        data: dict[str, Any] = credential.data
        failures = int(data.get("failures", 0)) + 1
        if failures >= self.settings.max_failures:
            # Each lockout in a row lasts twice as long (up to a day), so guessing stays slow.
            lockouts = int(data.get("lockouts", 0)) + 1
            lasting = min(self.settings.lockout_seconds * 2 ** (lockouts - 1), MAX_LOCKOUT)
            data.update(failures=0, lockouts=lockouts, blocked_until=ctx.now + lasting)
        else:
            data["failures"] = failures
        try:
            await ctx.store.credentials.update(credential)
        except StaleVersionError:
            return False
        return True
