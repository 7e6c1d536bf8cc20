"""`passkey_setup`: create a passkey (a discoverable WebAuthn credential) for the user identified
so far. Several per user (at most `MAX_PASSKEYS`), each with a name; the ones they have are
excluded, so an authenticator cannot register twice. Attestation is `none` unless the options
ask for `direct`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core import N_
from observe import audit
from steps import webauthn
from steps.base import Outcome, Page, Step, StepContext

MAX_NAME = 60
MAX_PASSKEYS = 20  # each is kept and listed, and sent back excluded in every ceremony
TOO_MANY = N_(
    "This account has as many passkeys as it may have. Remove one on your account page to add"
    " another."
)


class PasskeySetupOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_verification: webauthn.UserVerification = Field(
        "preferred", description="Ask the authenticator to check a PIN or biometric."
    )
    attestation: Literal["none", "direct"] = Field(
        "none", description="none (private, the default) or direct (the authenticator's model)."
    )


class PasskeySetupStep(Step):
    type = "passkey_setup"
    Options = PasskeySetupOptions
    outcomes = frozenset({"success"})
    optional_outcomes = {**Step.optional_outcomes, "skip": N_("Not now")}
    template = "flow/passkey_setup.html"

    @property
    def settings(self) -> PasskeySetupOptions:
        assert isinstance(self.options, PasskeySetupOptions)
        return self.options

    async def _page(self, ctx: StepContext, name: str = "", error: str | None = None) -> Page:
        user = await ctx.user()
        if user is None:
            return Page(self.template, {}, {"page": N_("Sign in first to add a passkey.")})
        if len(await webauthn.passkeys_of(ctx, user.id)) >= MAX_PASSKEYS:
            return Page(self.template, {}, {"page": TOO_MANY})
        options = await webauthn.creation_options(
            ctx, user, self.settings.user_verification, self.settings.attestation
        )
        page = Page(self.template, {"webauthn_options": options, "name": name})
        if error:
            page.errors["credential"] = error
        return page

    async def render(self, ctx: StepContext) -> Page | Outcome:
        return await self._page(ctx)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        user = await ctx.user()
        name = " ".join(form.get("name", "").split())[:MAX_NAME]
        if user is None or len(await webauthn.passkeys_of(ctx, user.id)) >= MAX_PASSKEYS:
            return await self._page(ctx)
        result = await webauthn.register(
            ctx, user, form.get("credential", ""), name or "Passkey",
            self.settings.user_verification,
        )
        if isinstance(result, str):
            return await self._page(ctx, name, result)
        await audit(
            ctx.store, "mfa_changed", subject=user.id, client_id=ctx.client.client_id,
            change="added", method=result.kind, credential_id=result.id, name=result.name,
        )
        return Outcome("success")
