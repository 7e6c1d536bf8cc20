"""`recovery_code`: sign in with one of the user's recovery codes, which is then used up.

The user is the one identified so far or, when no step has identified anyone yet, the login
`identify` collected (an unknown login gets the same answer as a wrong code). A run that holds a
possession proof already passes without a page. A right code is recorded as `otp`
(possession), and the number of codes left goes to `flow_data()["recovery_codes_left"]`; a flow
can send a user who has none left to `recovery_codes_setup` (condition `has_credential`).

A code carries about 59 bits from `secrets`, so guessing one is hopeless; wrong codes are still
throttled per account (or unknown login) and per client address, as passwords are.
"""

from __future__ import annotations

from collections.abc import Mapping

from core import N_
from steps import recovery_codes
from steps.base import Outcome, Page, Step, StepContext
from steps.throttling import Throttle, throttled
from store import UserRecord

ENTER_CODE = N_("Enter a recovery code.")
INVALID = N_("That recovery code is not valid or was already used.")


class RecoveryCodeStep(Step):
    type = "recovery_code"
    outcomes = frozenset({"success"})
    template = "flow/recovery_code.html"

    @staticmethod
    async def _user(ctx: StepContext) -> UserRecord | None:
        user = await ctx.user()
        if user is not None:
            return user
        login = ctx.flow_data().get("login")
        return await ctx.store.users.find_by_login(login) if isinstance(login, str) else None

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.proved("possession"):
            return Outcome("success")  # proved already in this run or its session (step-up)
        return Page(self.template)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        typed = form.get("code", "")
        if not typed.strip():
            return Page(self.template, errors={"code": ENTER_CODE})
        user = await self._user(ctx)
        login = ctx.flow_data().get("login")
        account = user.id if user else f"login:{str(login).lower()}"

        async def right() -> bool:
            return user is not None and await recovery_codes.use_code(ctx.store, user.id, typed)

        throttle = Throttle.of(ctx, "recovery_code", account, subject=user.id if user else None)
        guess = await throttle.guess(ctx.now, right)
        if guess.wait:
            return throttled(Page(self.template), "code", guess.wait)
        if not guess.right or user is None:
            return Page(self.template, errors={"code": INVALID})
        ctx.identify(user)
        ctx.record_authentication("otp", "possession")
        ctx.flow_data()["recovery_codes_left"] = await recovery_codes.codes_left(
            ctx.store, user.id
        )
        return Outcome("success")

