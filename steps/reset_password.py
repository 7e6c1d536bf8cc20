"""`reset_password` ("Forgot your password?"): a code sent to the account's email address lets the
user choose a new password.

Page 1 asks for the address; whatever was typed, page 2 says "if an account exists for that
address, we sent a code", after the same work (a lookup and a code digest; only the mail is not
sent when no account has that address). A wrong, expired or burnt code and an unknown address get
the same error; a failure to send is logged, not shown, since showing it would reveal the account.
The step does not sign the user in: it leaves with `login` set to their username, so a following
`password` step asks for the new password. A user directory's person gets no code but a mail
saying where their password is kept: a password set here would never be asked for.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from core import N_
from mail import Mail
from observe import audit
from steps import email_codes
from steps.base import Outcome, Page, Step, StepContext
from steps.identify import MAX_LOGIN_LENGTH
from steps.password_policy import PasswordPolicy, password_problem
from steps.throttling import throttled, unlock
from store import UserRecord

INVALID_CODE = N_("That code is not valid or has expired.")
PASSWORD_CHANGED = N_("Your password was changed.")
SUBJECT = "Your Gatehouse password reset code"
PURPOSE = "Use this code to choose a new password for your account."
CODE_PAGE = "flow/reset_password.html"
DIRECTORY_SUBJECT = "Your Gatehouse password"
DIRECTORY_TEXT = (
    "Someone asked to reset the password of your account. Your password is kept by your"
    " organization's user directory, not here, so it cannot be reset with a code: change it"
    " where you manage that account.\n\nIf you did not ask for this, ignore this email.\n"
)


class ResetPasswordOptions(email_codes.CodeOptions):
    """Options of `reset_password`."""

    password: PasswordPolicy = Field(
        default_factory=lambda: PasswordPolicy.model_validate({}),
        description="Rules for the new password.",
    )


class ResetPasswordStep(Step):
    type = "reset_password"
    Options = ResetPasswordOptions
    outcomes = frozenset({"success"})
    optional_outcomes = {**Step.optional_outcomes, "cancel": N_("Back to sign in")}
    template = "flow/reset_request.html"

    @property
    def settings(self) -> ResetPasswordOptions:
        assert isinstance(self.options, ResetPasswordOptions)
        return self.options

    def _request_page(self, email: str, errors: dict[str, str] | None = None) -> Page:
        return Page(self.template, {"email": email}, errors or {})

    def _code_page(
        self, ctx: StepContext, errors: dict[str, str] | None = None, resent: bool = False,
        code: str = "",
    ) -> Page:
        """Page 2; `code`: the code as typed, shown again when only the password was refused."""
        values = {"email": ctx.scratch.get("email", ""), "resent": resent,
                  "code": code[:email_codes.MAX_CODE_INPUT]}
        return Page(CODE_PAGE, values, errors or {})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.scratch.get("stage") == "code":
            return self._code_page(ctx)
        # Only an address the person typed (as their login): an account's own address, shown to
        # whoever typed its username, would tell them where its owner gets mail.
        login = ctx.flow_data().get("login")
        return self._request_page(login if isinstance(login, str) and "@" in login else "")

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        if ctx.scratch.get("stage") != "code":
            return await self._request(ctx, form.get("email", "").strip())
        if form.get("restart"):
            ctx.scratch.pop("stage", None)
            email_codes.burn(ctx.scratch)
            return self._request_page(ctx.scratch.get("email", ""))
        if form.get("resend"):
            if not email_codes.may_resend(ctx.scratch, ctx.now, self.settings.resend_interval):
                return self._code_page(ctx, {"page": email_codes.RESEND_TOO_SOON})
            await self._send_code(ctx, await self._account(ctx))
            return self._code_page(ctx, resent=True)
        return await self._reset(ctx, form)

    async def _request(self, ctx: StepContext, email: str) -> Page:
        """Page 1 posted: send a code if an account has this address; page 2 either way."""
        if not email:
            return self._request_page("", {"email": N_("Enter your email address.")})
        if "@" not in email or len(email) > MAX_LOGIN_LENGTH:
            return self._request_page(
                email[:MAX_LOGIN_LENGTH],
                {"email": N_("Enter an email address, like name@example.com.")},
            )
        if not email_codes.may_resend(ctx.scratch, ctx.now, self.settings.resend_interval):
            return self._request_page(email, {"email": email_codes.RESEND_TOO_SOON})
        found = await ctx.store.users.find_by_login(email)
        user = found if found and (found.email or "").casefold() == email.casefold() else None
        ctx.scratch.update(stage="code", email=email, user=user.id if user else None)
        await self._send_code(ctx, user)
        return self._code_page(ctx)

    async def _send_code(self, ctx: StepContext, user: UserRecord | None) -> None:
        """A new code; mailed only when there is an account and the hourly limits allow it (a
        failure is logged, not shown, and a limit reached shows the same page)."""
        code = email_codes.issue(ctx.scratch, ctx.now, self.settings.code_lifetime)
        allowed = await email_codes.may_mail(ctx, self.settings, str(ctx.scratch.get("email", "")))
        if not allowed or user is None or not user.email:
            return
        if user.in_directory:
            mail = Mail(to=user.email, subject=DIRECTORY_SUBJECT, text=DIRECTORY_TEXT)
        else:
            mail = email_codes.code_mail(
                user.email, SUBJECT, PURPOSE, code, self.settings.code_lifetime
            )
        email_codes.send_in_background(ctx, mail)  # no slower than for an unknown address

    async def _account(self, ctx: StepContext) -> UserRecord | None:
        """The account the pending code is for, if it still has the address the code went to
        (never a directory's person, whose password is not kept here)."""
        user_id = ctx.scratch.get("user")
        user = await ctx.store.users.get(user_id) if isinstance(user_id, str) else None
        email = str(ctx.scratch.get("email", "")).casefold()
        if user is None or user.in_directory or (user.email or "").casefold() != email:
            return None
        return user

    async def _reset(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        code, password = form.get("code", ""), form.get("password", "")
        errors: dict[str, str] = {}
        if not code.strip():
            errors["code"] = email_codes.ENTER_CODE
        if not password:
            errors["password"] = N_("Enter a new password.")
        elif problem := password_problem(
            self.settings.password, password, ctx.scratch.get("email")
        ):
            errors["password"] = problem
        elif form.get("password_confirm", "") != password:
            errors["password_confirm"] = N_("The passwords do not match.")
        if errors:
            return self._code_page(ctx, errors, code=code)
        email = str(ctx.scratch.get("email", "")).casefold()
        checked = await email_codes.check(ctx, code, self.settings.max_attempts, f"email:{email}")
        if checked.result is email_codes.Check.THROTTLED:
            return throttled(self._code_page(ctx), "code", checked.wait)
        user = await self._account(ctx)
        if checked.result is not email_codes.Check.OK or user is None:
            return self._code_page(ctx, {"code": INVALID_CODE})
        # The code proved the mailbox: now the username may be named in a refusal too.
        if problem := password_problem(self.settings.password, password, user.username, user.email):
            return self._code_page(ctx, {"password": problem}, code=code)  # still unused
        ctx.scratch.clear()
        user.password_hash = await ctx.passwords.hash(password)
        user.password_changed_at = ctx.now
        user.devices_forgotten_at = ctx.now  # remembered browsers ask for the second factor again
        user.email_verified = True
        await ctx.store.users.update(user)
        await unlock(ctx.store, user.id)  # whoever was guessing, the owner is back in
        await audit(ctx.store, "password_reset", subject=user.id, client_id=ctx.client.client_id,
                    address=ctx.browser.client_address)
        ctx.flow_data()["login"] = user.username
        ctx.notify(PASSWORD_CHANGED)
        return Outcome("success")
