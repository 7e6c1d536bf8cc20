"""`change_password`: the user identified so far chooses a new password (the account page's
"change password", or a required action behind `password_older_than`). The flow has proved who
they are before this step, so it asks only for the new password, twice. A user directory's
person is told to change it in the directory instead: a password set here would never be asked
for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from core import N_
from steps.base import Outcome, Page, Step, StepContext
from steps.password import MAX_PASSWORD_LENGTH
from steps.password_policy import PasswordPolicy, password_problem

NO_USER = N_("Sign in first: we do not know who you are yet.")
IN_DIRECTORY = N_(
    "Your password is kept by your organization's user directory: change it where you manage"
    " that account."
)


class ChangePasswordOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: PasswordPolicy = Field(
        default_factory=lambda: PasswordPolicy.model_validate({}),
        description="Rules for the new password.",
    )


class ChangePasswordStep(Step):
    type = "change_password"
    Options = ChangePasswordOptions
    outcomes = frozenset({"success"})
    optional_outcomes: ClassVar[dict[str, str]] = {"skip": N_("Not now")}
    template = "flow/change_password.html"

    @property
    def settings(self) -> ChangePasswordOptions:
        assert isinstance(self.options, ChangePasswordOptions)
        return self.options

    async def _page(self, ctx: StepContext, errors: dict[str, str] | None = None) -> Page:
        user = await ctx.user()
        if user is None or user.in_directory:
            return Page(self.template, {}, {"page": NO_USER if user is None else IN_DIRECTORY})
        return Page(self.template, {"login": user.username}, errors or {})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        return await self._page(ctx)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        user = await ctx.user()
        if user is None or user.in_directory:
            return await self._page(ctx)
        password = form.get("password", "")[: MAX_PASSWORD_LENGTH + 1]
        if not password:
            return await self._page(ctx, {"password": N_("Enter a new password.")})
        if problem := password_problem(self.settings.password, password, user.username, user.email):
            return await self._page(ctx, {"password": problem})
        if form.get("password_confirm", "") != password:
            return await self._page(ctx, {"password_confirm": N_("The passwords do not match.")})
        # Only for someone who proved who they are: a run that knows the user but proved nothing
        # (a password-reset link) must not learn whether a guess is the current password.
        proved = bool(ctx.run.auth_events)
        if proved and user.password_hash and await ctx.passwords.verify(user.password_hash, password):
            return await self._page(ctx, {"password": N_("Choose a password you have not used here.")})
        user.password_hash = await ctx.passwords.hash(password)
        user.password_changed_at = ctx.now
        user.devices_forgotten_at = ctx.now  # remembered browsers ask for the second factor again
        await ctx.store.users.update(user)
        return Outcome("success")
