"""`totp_setup`: enroll an authenticator app for the user identified so far.

The page shows a new 160-bit secret as a QR code, as an `otpauth://` link and as a key to type;
the run keeps the secret sealed (the same one across reloads). The secret is saved as the user's
`totp` credential only once the app's code is right, which also counts as proving possession.
A user who has an authenticator app already passes without a page.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Literal

import pyotp
import segno
from pydantic import BaseModel, ConfigDict, Field

from observe import audit
from steps.base import Outcome, Page, Step, StepContext
from steps.totp import (
    ENTER_CODE,
    KIND,
    WRONG_CODE,
    matched_step,
    misplaced,
    normalise_code,
    totp_credential,
)
from store import CredentialRecord, SealError, UserRecord

CREDENTIAL_NAME = "Authenticator app"


class TotpSetupOptions(BaseModel):
    """Options of `totp_setup`."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(
        "Gatehouse", min_length=1, max_length=64,
        description="The name authenticator apps show next to the account.",
    )
    digits: Literal[6, 8] = Field(6, description="Digits in each code: 6 (what most apps use) or 8.")


def grouped(secret: str) -> str:
    """The key in groups of 4 characters, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class TotpSetupStep(Step):
    type = "totp_setup"
    Options = TotpSetupOptions
    outcomes = frozenset({"success"})
    template = "flow/totp_setup.html"

    @property
    def settings(self) -> TotpSetupOptions:
        assert isinstance(self.options, TotpSetupOptions)
        return self.options

    def _secret(self, ctx: StepContext) -> tuple[str, bool]:
        """The secret being enrolled in this run (kept sealed in the run), and whether it is
        new: made on first use, so a reload shows the same one."""
        sealed = ctx.scratch.get("secret")
        if isinstance(sealed, str):
            try:
                return ctx.services.sealer.open(sealed), False
            except SealError:
                pass  # sealed under a key no longer configured: start with a new secret
        secret = pyotp.random_base32()
        ctx.scratch["secret"] = ctx.services.sealer.seal(secret)
        return secret, True

    def _page(self, user: UserRecord, secret: str, errors: dict[str, str] | None = None) -> Page:
        totp = pyotp.TOTP(secret, digits=self.settings.digits)
        uri = totp.provisioning_uri(
            name=user.username or user.email or user.id, issuer_name=self.settings.issuer
        )
        qr = segno.make_qr(uri, error="m").svg_data_uri(scale=4)
        values = {"usable": True, "qr": qr, "uri": uri, "key": grouped(secret),
                  "digits": self.settings.digits}
        return Page(self.template, values, errors or {})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        user = await ctx.user()
        if user is None:
            return misplaced(ctx, self.template)
        if await totp_credential(ctx, user) is not None:
            return Outcome("success")  # nothing to enroll
        return self._page(user, self._secret(ctx)[0])

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        user = await ctx.user()
        if user is None:
            return misplaced(ctx, self.template)
        if await totp_credential(ctx, user) is not None:
            return Outcome("success")  # enrolled meanwhile, in another run
        secret, new = self._secret(ctx)
        typed = form.get("code", "")
        if not typed.strip():
            return self._page(user, secret, {"code": ENTER_CODE})
        code = normalise_code(typed, self.settings.digits)
        step = matched_step(secret, self.settings.digits, code, ctx.now) if code else None
        if step is None or new:  # a new secret: the user has not seen it yet
            return self._page(user, secret, {"code": WRONG_CODE})
        data = {"secret": ctx.scratch["secret"], "digits": self.settings.digits,
                "last_step": step, "failures": 0}
        credential = CredentialRecord(
            id=secrets.token_urlsafe(16), user_id=user.id, kind=KIND, name=CREDENTIAL_NAME,
            data=data, created_at=ctx.now, last_used_at=ctx.now,
        )
        await ctx.store.credentials.add(credential)
        await audit(
            ctx.store, "mfa_changed", subject=user.id, client_id=ctx.client.client_id,
            change="added", method=KIND, credential_id=credential.id, name=credential.name,
        )
        ctx.scratch.pop("secret", None)
        ctx.record_authentication("otp", "possession")
        return Outcome("success")
