"""`verify_email`: prove the identified user can read mail at their address, with a one-time code.

The code is sent once, when the step first shows (a reload does not send another); the page has
a "Send a new code" button. A right code marks the address verified. A user whose address is
verified already passes without a page; a user without an address (or no user identified
yet) leaves by `no_email`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import N_
from steps import email_codes, rate_limits
from steps.base import Outcome, Page, Step, StepContext
from steps.throttling import throttled
from store import UserRecord

WRONG_CODE = N_("That code is not right. Check the email and try again.")
EXPIRED_CODE = N_("That code has expired or was tried too many times. Send a new code.")
SUBJECT = "Your Gatehouse verification code"
PURPOSE = "Use this code to verify your email address."


class VerifyEmailOptions(email_codes.CodeOptions):
    """Options of `verify_email`."""


class VerifyEmailStep(Step):
    type = "verify_email"
    Options = VerifyEmailOptions
    outcomes = frozenset({"success", "no_email"})
    template = "flow/verify_email.html"

    @property
    def settings(self) -> VerifyEmailOptions:
        assert isinstance(self.options, VerifyEmailOptions)
        return self.options

    def _page(
        self, scratch: dict[str, Any], errors: dict[str, str] | None = None, **values: Any
    ) -> Page:
        to = scratch.get("to")
        shown = email_codes.mask_email(to) if isinstance(to, str) and to else ""
        return Page(self.template, {"to": shown, "resent": False, **values}, errors or {})

    async def _send(self, ctx: StepContext, email: str) -> str | None:
        """Mail a new code; the page's error when none went out (an hourly limit, or a failure)."""
        code = email_codes.issue(ctx.scratch, ctx.now, self.settings.code_lifetime)
        ctx.scratch["to"] = email
        if not await email_codes.may_mail(ctx, self.settings, email):
            problem: str | None = rate_limits.TOO_MANY_CODES
        else:
            mail = email_codes.code_mail(email, SUBJECT, PURPOSE, code, self.settings.code_lifetime)
            problem = None if await email_codes.send(ctx, mail) else email_codes.MAIL_FAILED
        if problem:
            email_codes.burn(ctx.scratch)
            ctx.scratch.pop("sent_at", None)  # nothing went out: trying again at once is fine
        return problem

    async def _user(self, ctx: StepContext) -> UserRecord | Outcome:
        user = await ctx.user()
        if user is None or not user.email:
            return Outcome("no_email")
        if user.email_verified:
            return Outcome("success")
        return user

    async def render(self, ctx: StepContext) -> Page | Outcome:
        user = await self._user(ctx)
        if isinstance(user, Outcome):
            return user
        assert user.email is not None
        if "sent_at" in ctx.scratch and ctx.scratch.get("to") == user.email:
            return self._page(ctx.scratch)
        if problem := await self._send(ctx, user.email):
            return self._page({}, {"page": problem})
        return self._page(ctx.scratch)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        user = await self._user(ctx)
        if isinstance(user, Outcome):
            return user
        assert user.email is not None
        if form.get("resend"):
            return await self._resend(ctx, user.email)
        typed = form.get("code", "")
        if not typed.strip():
            return self._page(ctx.scratch, errors={"code": email_codes.ENTER_CODE})
        if ctx.scratch.get("to") != user.email:  # the address changed since the code went out
            email_codes.burn(ctx.scratch)
        checked = await email_codes.check(
            ctx, typed, self.settings.max_attempts, user.id, subject=user.id
        )
        result = checked.result
        if result is email_codes.Check.THROTTLED:
            return throttled(self._page(ctx.scratch), "code", checked.wait)
        if result is email_codes.Check.WRONG:
            return self._page(ctx.scratch, errors={"code": WRONG_CODE})
        if result is email_codes.Check.EXPIRED:
            return self._page(ctx.scratch, errors={"code": EXPIRED_CODE})
        email_codes.burn(ctx.scratch)
        user.email_verified = True
        await ctx.store.users.update(user)
        return Outcome("success")

    async def _resend(self, ctx: StepContext, email: str) -> Page:
        if not email_codes.may_resend(ctx.scratch, ctx.now, self.settings.resend_interval):
            return self._page(ctx.scratch, errors={"page": email_codes.RESEND_TOO_SOON})
        if problem := await self._send(ctx, email):
            return self._page(ctx.scratch, errors={"page": problem})
        return self._page(ctx.scratch, resent=True)
