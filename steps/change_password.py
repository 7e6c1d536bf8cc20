"""`change_password`: the user identified so far chooses a new password (the account page's
"change password", or a required action behind `password_older_than`). The flow has proved who
they are before this step, so it asks only for the new password, twice.

A user directory's person changes it in the directory, when the step names that `directory`
(the `password` step's `password_expired` outcome leads here): then it asks for the current
password too, which the directory checks (wrong guesses are throttled as on the password page),
and the change proves who they are. Without it they are told to change it where they manage
their account: a password set here would never be asked for."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from core import N_
from federation import (
    DIRECTORY_NAME,
    AccountBlocked,
    DirectoryUnavailable,
    PasswordRefused,
    UserDirectory,
)
from observe import count_directory_outage
from steps.base import Outcome, Page, Step, StepContext
from steps.directory_answers import answer
from steps.password import BLOCKED, MAX_PASSWORD_LENGTH, UNAVAILABLE
from steps.password_policy import PasswordPolicy, password_problem
from steps.throttling import Throttle, login_key, throttled
from store import UserRecord

log = logging.getLogger("gatehouse.directory")

NO_USER = N_("Sign in first: we do not know who you are yet.")
IN_DIRECTORY = N_(
    "Your password is kept by your organization's user directory: change it where you manage"
    " that account."
)


DIRECTORY_REFUSED = N_(
    "Your organization's directory did not accept this password: it may be too short or too"
    " simple, or one you used before. Choose another."
)
DIRECTORY_WRONG = N_("Your current password is not right.")


class ChangePasswordOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: PasswordPolicy = Field(
        default_factory=lambda: PasswordPolicy.model_validate({}),
        description="Rules for the new password.",
    )
    directory: str | None = Field(
        None, pattern=f"^{DIRECTORY_NAME.pattern}$",
        description="One of gatehouse.yaml's `directories`: its people change their password"
        " there, giving their current one.",
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

    def _directory(self, ctx: StepContext) -> UserDirectory | None:
        name = self.settings.directory
        found = ctx.services.directories.get(name) if name else None
        return found if found is not None and found.changes_passwords else None

    async def _page(self, ctx: StepContext, errors: dict[str, str] | None = None) -> Page:
        user = await ctx.user()
        if user is None:
            return Page(self.template, {}, {"page": NO_USER})
        if user.in_directory:
            if self._directory(ctx) is None:
                return Page(self.template, {}, {"page": IN_DIRECTORY})
            return Page(self.template, {"login": user.username, "current": True}, errors or {})
        return Page(self.template, {"login": user.username}, errors or {})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        return await self._page(ctx)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        user = await ctx.user()
        directory = self._directory(ctx)
        if user is None or (user.in_directory and directory is None):
            return await self._page(ctx)
        password = form.get("password", "")[: MAX_PASSWORD_LENGTH + 1]
        if not password:
            return await self._page(ctx, {"password": N_("Enter a new password.")})
        if problem := password_problem(self.settings.password, password, user.username, user.email):
            return await self._page(ctx, {"password": problem})
        if form.get("password_confirm", "") != password:
            return await self._page(ctx, {"password_confirm": N_("The passwords do not match.")})
        if directory is not None and user.in_directory:
            return await self._in_directory(ctx, directory, user, form, password)
        # Only for someone who proved who they are: a run that knows the user but proved nothing
        # (a password-reset link) must not learn whether a guess is the current password.
        proved = bool(ctx.run.auth_events)
        if proved and user.password_hash and await ctx.passwords.verify(user.password_hash, password):
            return await self._page(ctx, {"password": N_("Choose a password you have not used here.")})
        user.password_hash = await ctx.passwords.hash(password)
        return await self._changed(ctx, user)

    async def _in_directory(
        self, ctx: StepContext, directory: UserDirectory, user: UserRecord,
        form: Mapping[str, str], password: str,
    ) -> Outcome | Page:
        current = form.get("current_password", "")[:MAX_PASSWORD_LENGTH]
        if not current:
            return await self._page(ctx, {"current_password": N_("Enter your current password.")})

        async def change() -> bool:
            found = await answer(directory.look_up(user.username))
            if found is None:
                return False
            return await answer(directory.change_password(found, current, password)) is True

        throttle = Throttle.of(ctx, "password", login_key(user.username), subject=user.id)
        try:
            guess = await throttle.guess(ctx.now, change)
        except DirectoryUnavailable as exc:
            log.warning("user directory %s cannot answer: %s", self.settings.directory, exc)
            count_directory_outage(str(self.settings.directory))
            return await self._page(ctx, {"page": UNAVAILABLE})
        except PasswordRefused as exc:
            log.info("user directory %s refused a new password of %s: %s",
                     self.settings.directory, user.id, exc)
            return await self._page(ctx, {"password": DIRECTORY_REFUSED})
        except AccountBlocked as exc:
            return await self._page(ctx, {"page": BLOCKED[exc.state]})
        if guess.wait:
            page = await self._page(ctx)
            return throttled(page, "current_password", guess.wait)
        if not guess.right:
            return await self._page(ctx, {"current_password": DIRECTORY_WRONG})
        if not ctx.run.auth_events:
            ctx.record_authentication("pwd", "knowledge")  # the current password proved them
        return await self._changed(ctx, user)

    async def _changed(self, ctx: StepContext, user: UserRecord) -> Outcome:
        user.password_changed_at = ctx.now
        user.devices_forgotten_at = ctx.now  # remembered browsers ask for the second factor again
        await ctx.store.users.update(user)
        return Outcome("success")
