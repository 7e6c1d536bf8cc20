"""`passkey`: sign in with a passkey. When the run knows the user (after `identify`, or as a
second factor) only their passkeys are accepted; at the start of a flow it is usernameless: the
browser offers the passkeys it holds for this site, and the one chosen says who is signing in."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from steps import webauthn
from steps.base import Outcome, Page, Step, StepContext


class PasskeyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_verification: webauthn.UserVerification = Field(
        "preferred",
        description="required: only passkeys that checked a PIN or biometric are accepted"
        " (a multi-factor sign-in on their own); preferred; or discouraged.",
    )


class PasskeyStep(Step):
    type = "passkey"
    Options = PasskeyOptions
    outcomes = frozenset({"success"})
    template = "flow/passkey.html"

    @property
    def settings(self) -> PasskeyOptions:
        assert isinstance(self.options, PasskeyOptions)
        return self.options

    async def _page(self, ctx: StepContext, error: str | None = None) -> Page:
        user = await ctx.user()
        options = await webauthn.request_options(ctx, user, self.settings.user_verification)
        page = Page(self.template, {"webauthn_options": options, "usernameless": user is None})
        if error:
            page.errors["credential"] = error
        return page

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.proved("possession"):
            return Outcome("success")  # proved already in this run or its session (step-up)
        return await self._page(ctx)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        user = await ctx.user()
        result = await webauthn.authenticate(
            ctx, form.get("credential", ""), user, self.settings.user_verification
        )
        if isinstance(result, str):
            return await self._page(ctx, result)
        webauthn.accept(ctx, result)
        return Outcome("success")
