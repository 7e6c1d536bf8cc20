"""`identify`: ask who is signing in (username or email), honouring `login_hint`.

It never says whether the account exists (the password step answers the same either way). With
`passkeys: true` the page also offers the browser's passkeys for this site, in the username
field's autofill (WebAuthn conditional mediation) and behind a button: choosing one signs the
person in at once, and the step's outcome is `passkey` instead of `success`.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from core import N_
from steps import webauthn
from steps.base import Outcome, Page, Step, StepContext

MAX_LOGIN_LENGTH = 254


class IdentifyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passkeys: bool = Field(
        False, description="Offer passkeys on this page (then wire the `passkey` outcome)."
    )
    user_verification: webauthn.UserVerification = Field(
        "preferred", description="For passkeys: as the `passkey` step's option."
    )


class IdentifyStep(Step):
    type = "identify"
    Options = IdentifyOptions
    outcomes = frozenset({"success"})
    optional_outcomes = {**Step.optional_outcomes, "register": N_("Create an account")}
    template = "flow/identify.html"

    @property
    def settings(self) -> IdentifyOptions:
        assert isinstance(self.options, IdentifyOptions)
        return self.options

    @classmethod
    def outcomes_for(cls, options: BaseModel) -> frozenset[str]:
        passkeys = isinstance(options, IdentifyOptions) and options.passkeys
        return cls.outcomes | ({"passkey"} if passkeys else set())

    async def _page(
        self, ctx: StepContext, login: str, error: str | None = None, field: str = "login"
    ) -> Page:
        page = Page(self.template, {"login": login})
        if self.settings.passkeys:
            page.values["webauthn_options"] = await webauthn.request_options(
                ctx, None, self.settings.user_verification
            )
        if error:
            page.errors[field] = error
        return page

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.run.subject is not None:
            return Outcome("success")  # known from the session this run adds to (step-up)
        login = ctx.flow_data().get("login") or ctx.sign_in.login_hint or ""
        return await self._page(ctx, login)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        if self.settings.passkeys and form.get("credential"):
            return await self._passkey(ctx, form["credential"])
        login = form.get("login", "").strip()
        if not login:
            return await self._page(ctx, "", N_("Enter your username or email."))
        if len(login) > MAX_LOGIN_LENGTH:
            return await self._page(ctx, "", N_("That is too long to be a username or email."))
        ctx.flow_data()["login"] = login
        return Outcome("success")

    async def _passkey(self, ctx: StepContext, response: str) -> Outcome | Page:
        result = await webauthn.authenticate(ctx, response, None, self.settings.user_verification)
        if isinstance(result, str):
            return await self._page(ctx, "", result, field="credential")
        webauthn.accept(ctx, result)
        return Outcome("passkey")
