"""`password`: verify a password with argon2id, for the login `identify` collected or, when the
flow has no `identify` before it, for a login typed on the same page (and `login_hint` prefills it).

An unknown login and a wrong password get the same page after the same work (one argon2 verify),
so the step does not reveal which accounts exist. Wrong passwords are throttled per login as typed
(so a username's block says nothing of its account's email address, exactly as for an unknown
login) and per client address (steps/throttling.py); a blocked guess is not even checked.

With a `directory` (federation/directory.py), a login that is no local user is asked about there,
under the same throttling; a person the directory vouches for gets a local record, created or
refreshed at each sign-in, which keeps no password. A local account always wins over the directory.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core import N_
from federation import (
    DIRECTORY_NAME,
    AccountBlocked,
    AccountState,
    DirectoryUnavailable,
    DirectoryUser,
    PasswordExpired,
    UserDirectory,
)
from observe import audit, count_directory_outage
from steps.base import Outcome, Page, Step, StepContext
from steps.directory_answers import answer, local_record
from steps.identify import MAX_LOGIN_LENGTH
from steps.throttling import Throttle, login_key, throttled
from steps.user_directory import UnknownDirectory, is_class_path, resolve_directory_type
from store import UserRecord

log = logging.getLogger("gatehouse.directory")

MAX_PASSWORD_LENGTH = 1024
WRONG = N_("Incorrect username or password.")
UNAVAILABLE = N_("We can't check your password right now. Try again in a moment.")
NAME_TAKEN = N_("This account can't sign in here. Contact your administrator.")
# What a directory may say of an account (federation.AccountBlocked), as the person reads it.
BLOCKED: dict[AccountState, str] = {
    "disabled": N_("This account is disabled. Ask your administrator to enable it."),
    "locked": N_("This account is locked. Try again later, or ask your administrator to unlock"
                 " it."),
    "expired": N_("This account has expired. Ask your administrator to extend it."),
    "password_expired": N_("Your password has expired. Ask your administrator to reset it."),
}
CHANGE_ELSEWHERE = N_(
    "Your password has expired or must be changed. Change it where you manage your account,"
    " then sign in again."
)


class PasswordOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directory: str | None = Field(
        None,
        description="An external user directory for logins that are no local user: the name of"
        " one of gatehouse.yaml's `directories` (LDAP, docs/directories.md), or a class of your"
        " own as `package.module:ClassName` (a `federation.directory.UserDirectory`).",
    )
    directory_options: dict[str, Any] = Field(
        default_factory=dict, description="The directory's settings, checked against its `Options`."
    )
    change_expired: bool = Field(
        False,
        description="When the directory says the password has expired or must be changed, end"
        " with the outcome `password_expired` (wire it to a `change_password` step with the same"
        " `directory`), instead of a message to change it elsewhere.",
    )
    _directory: UserDirectory | None = PrivateAttr(None)

    @field_validator("directory")
    @classmethod
    def _loads(cls, name: str | None) -> str | None:
        if name is not None and not is_class_path(name):
            if not DIRECTORY_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is neither a directory's name nor package.module:Class")
        elif name is not None:
            try:
                resolve_directory_type(name)
            except UnknownDirectory as exc:
                raise ValueError(str(exc)) from exc
        return name

    @field_validator("directory_options")
    @classmethod
    def _fits(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "directory" not in info.data:
            return value  # the directory itself is wrong, and reported
        name = info.data["directory"]
        if name is None:
            raise ValueError("directory_options needs a directory")
        if not is_class_path(name):
            raise ValueError(f"the settings of directory {name!r} are in gatehouse.yaml")
        resolve_directory_type(name).Options.model_validate(value)  # its errors, positioned here
        return value

    @model_validator(mode="after")
    def _build(self) -> PasswordOptions:
        """The directory, built once per load of the flows (a failure is a load problem)."""
        if self.directory is not None and is_class_path(self.directory):
            kind = resolve_directory_type(self.directory)
            try:
                self._directory = kind(kind.Options.model_validate(self.directory_options))
            except Exception as exc:
                raise ValueError(f"cannot set up user directory {self.directory!r}: {exc}") from exc
        return self

    @property
    def user_directory(self) -> UserDirectory | None:
        """The directory built with the flows, when they name a class."""
        return self._directory

    def directory_in(self, ctx: StepContext) -> UserDirectory | None:
        """The directory: a class built with the flows, or one of gatehouse.yaml's (which
        start-up checks, `engine.check_directories`)."""
        if self._directory is not None or self.directory is None:
            return self._directory
        return ctx.services.directories.get(self.directory)


class PasswordStep(Step):
    type = "password"
    Options = PasswordOptions
    outcomes = frozenset({"success"})
    optional_outcomes = {
        **Step.optional_outcomes,
        "forgot": N_("Forgot your password?"),
        "register": N_("Create an account"),
    }
    template = "flow/password.html"

    @classmethod
    def outcomes_for(cls, options: BaseModel) -> frozenset[str]:
        if isinstance(options, PasswordOptions) and options.change_expired:
            return cls.outcomes | {"password_expired"}
        return cls.outcomes

    @property
    def settings(self) -> PasswordOptions:
        assert isinstance(self.options, PasswordOptions)
        return self.options

    def _page(self, ctx: StepContext, typed_login: str = "") -> Page:
        identified = ctx.flow_data().get("login")
        login = identified or typed_login or ctx.sign_in.login_hint or ""
        return Page(self.template, {"login": login, "identified": bool(identified)})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.proved("knowledge"):
            return Outcome("success")  # proved already in this run or its session (step-up)
        return self._page(ctx)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        typed = form.get("login", "").strip()[:MAX_LOGIN_LENGTH]
        login = ctx.flow_data().get("login") or typed
        password = form.get("password", "")
        page = self._page(ctx, typed)
        if not password:
            page.errors["password"] = N_("Enter your password.")
            return page
        user = await ctx.store.users.find_by_login(login) if login else None
        candidate = password[:MAX_PASSWORD_LENGTH]
        directory = self.settings.directory_in(ctx)
        if directory is not None and login and (user is None or user.in_directory):
            return await self._directory_sign_in(ctx, directory, login, user, candidate, page)
        throttle = Throttle.of(ctx, "password", login_key(login), subject=user.id if user else None)
        guess = await throttle.guess(
            ctx.now, lambda: ctx.passwords.verify(user.password_hash if user else None, candidate)
        )
        if guess.wait:
            return throttled(page, "password", guess.wait)
        if not guess.right:
            page.errors["password"] = WRONG
            return page
        assert user is not None and user.password_hash is not None
        if ctx.passwords.needs_rehash(user.password_hash):
            user.password_hash = await ctx.passwords.hash(candidate)
            await ctx.store.users.update(user)
        return self._signed_in(ctx, user)

    async def _expired(
        self, ctx: StepContext, name: str, found: DirectoryUser, page: Page
    ) -> Outcome | Page:
        """The right password, expired or to be changed: the flow's change step knows who they
        are (nothing is proved yet), or they are told to change it elsewhere."""
        if not self.settings.change_expired:
            page.errors["password"] = CHANGE_ELSEWHERE
            return page
        user = await local_record(ctx.store, ctx.now, name, found)
        if user is None:
            page.errors["password"] = NAME_TAKEN
            return page
        ctx.identify(user)
        return Outcome("password_expired")

    @staticmethod
    def _signed_in(ctx: StepContext, user: UserRecord) -> Outcome:
        ctx.identify(user)
        ctx.record_authentication("pwd", "knowledge")
        return Outcome("success")

    async def _directory_sign_in(
        self, ctx: StepContext, directory: UserDirectory, login: str, known: UserRecord | None,
        password: str, page: Page,
    ) -> Outcome | Page:
        """Ask the directory about a login with no local account (or a directory user's)."""
        name = self.settings.directory
        assert name is not None
        vouched: list[DirectoryUser] = []

        async def check() -> bool:
            found = await answer(directory.look_up(login))
            if found is None:
                await ctx.passwords.verify(None, password)  # the work a wrong password costs
                return False
            if not isinstance(found, DirectoryUser):
                raise DirectoryUnavailable(f"look_up answered {type(found).__name__}")
            # `is True`: a directory that answers anything else has not said yes.
            verified = await answer(directory.verify_password(found, password))
            if verified is True or isinstance(verified, DirectoryUser):
                vouched.append(found if verified is True else verified)
                return True
            return False

        throttle = Throttle.of(ctx, "password", login_key(login), subject=known.id if known else None)
        try:
            guess = await throttle.guess(ctx.now, check)
        except DirectoryUnavailable as exc:  # raised before the guess is counted
            log.warning("user directory %s cannot answer: %s", name, exc)
            count_directory_outage(name)
            page.errors["password"] = UNAVAILABLE
            return page
        except AccountBlocked as exc:
            await audit(ctx.store, "sign_in_failed", subject=known.id if known else None,
                        client_id=ctx.client.client_id, reason=f"directory_{exc.state}")
            page.errors["password"] = BLOCKED[exc.state]
            return page
        except PasswordExpired as exc:
            return await self._expired(ctx, name, exc.user, page)
        if guess.wait:
            return throttled(page, "password", guess.wait)
        if not guess.right:
            page.errors["password"] = WRONG
            return page
        user = await local_record(ctx.store, ctx.now, name, vouched[0])
        if user is None:
            page.errors["password"] = NAME_TAKEN
            return page
        return self._signed_in(ctx, user)
