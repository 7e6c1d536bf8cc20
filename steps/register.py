"""`register`: sign up with the fields the flow declares, and a password chosen under the policy.

`username` and `email` fill the user record; any other field is stored as a claim of that name
(use OIDC standard claim names: `name`, `given_name`, `phone_number`, `birthdate`...).

With an `email` field (and `verify_email` on), the account is created only once a code mailed to
the address is typed back. An address that has an account already gets a mail saying so instead
of a code, and the page is the same "check your email" page either way, so sign-up never tells
whether an address is registered. (A taken username is still said: a username is a public name.)
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from contextlib import suppress
from datetime import date
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core import N_
from mail import Mail
from steps import email_codes, rate_limits
from steps.base import Outcome, Page, Step, StepContext
from steps.password_policy import PasswordPolicy, password_problem
from steps.throttling import throttled
from store import DuplicateError, UserRecord

CODE_PAGE = "flow/register_code.html"
SUBJECT = "Your Gatehouse sign-up code"
PURPOSE = "Use this code to create your account."
TAKEN_SUBJECT = "You already have a Gatehouse account"
TAKEN_TEXT = (
    "Someone, probably you, tried to create an account with this email address, but it has an "
    "account already.\n\nSign in instead; if you forgot your password, choose \"Forgot your "
    "password?\" on the sign-in page.\n\nIf this was not you, ignore this email.\n"
)
INVALID_CODE = N_("That code is not valid or has expired.")
TAKEN_USERNAME = N_("That username is taken.")
TAKEN_EMAIL = N_("An account with that email already exists.")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Claims the server sets itself, and the names of the page's other inputs.
RESERVED = frozenset({
    "sub", "email_verified", "phone_number_verified", "preferred_username", "updated_at",
    "password", "password_confirm", "csrf_token",
})


class FieldSpec(BaseModel):
    """One input of the sign-up page."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="`username`, `email`, or the claim the value is stored as.")
    label: str = Field(  # plain text: no HTML, no %-placeholders
        pattern=r"^[^%<>]{1,200}$", description="The text shown by the input."
    )
    type: Literal["text", "email", "tel", "date", "checkbox"] = Field(
        default="text", description="The kind of input."
    )
    required: bool = Field(default=True, description="Must be filled in (a checkbox: ticked).")
    min_length: int = Field(default=0, ge=0, le=1000, description="Fewest characters.")
    max_length: int = Field(default=200, ge=1, le=1000, description="Most characters.")
    pattern: str | None = Field(default=None, description="A regex the whole value must match.")
    autocomplete: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9 -]{1,100}$", description="HTML autocomplete token."
    )

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not NAME.fullmatch(name):
            raise ValueError("a field name is a letter then letters, digits or _ (64 at most)")
        if name in RESERVED:
            raise ValueError(f"{name!r} is reserved: choose another field name")
        return name

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return pattern

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.min_length > self.max_length:
            raise ValueError("min_length is larger than max_length")
        if self.pattern is not None and self.type in ("date", "checkbox"):
            raise ValueError(f"a {self.type} field takes no pattern")
        if self.name == "username" and not self.required:
            raise ValueError("the username field is required")
        wanted = {"username": "text", "email": "email"}.get(self.name, self.type)
        if self.type != wanted:
            raise ValueError(f"the {self.name} field has type {wanted}")
        return self


def default_fields() -> list[FieldSpec]:
    return [
        FieldSpec(name="username", label=N_("Username"), pattern=r"[A-Za-z0-9._-]{3,64}",
                  max_length=64, autocomplete="username"),
        FieldSpec(name="email", label=N_("Email"), type="email", max_length=254,
                  autocomplete="email"),
    ]


class RegisterOptions(email_codes.CodeOptions):
    """Options of `register`."""

    verify_email: bool = Field(
        default=True,
        description="With an `email` field: create the account only after a code mailed to the "
        "address is typed back (the page never tells whether the address has an account). Off: "
        "create it at once, and say so when the address is taken.",
    )
    fields: list[FieldSpec] = Field(
        default_factory=default_fields, min_length=1, max_length=20,
        description="The inputs, in page order; `username` is required.",
    )
    password: PasswordPolicy = Field(
        default_factory=lambda: PasswordPolicy.model_validate({}),
        description="The rules for the chosen password.",
    )
    sign_ups_per_client_address: int = Field(
        10, ge=1, le=10000,
        description="Sign-up forms accepted per hour from one client address (IPv6: its /64).",
    )

    @field_validator("fields")
    @classmethod
    def _usable(cls, fields: list[FieldSpec]) -> list[FieldSpec]:
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique")
        if "username" not in names:
            raise ValueError("a `username` field is required: every user has one")
        return fields


def check_field(spec: FieldSpec, raw: str) -> tuple[Any, str | None]:
    """The value to store for `raw` (None when left empty), or an error message id."""
    if spec.type == "checkbox":
        ticked = bool(raw)
        return ticked, N_("Tick this box to continue.") if spec.required and not ticked else None
    value = raw.strip()
    if not value:
        return None, N_("Fill in this field.") if spec.required else None
    if len(value) > spec.max_length:
        return None, N_("That is too long.")
    if len(value) < spec.min_length:
        return None, N_("That is too short.")
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        return None, N_("That is not in the expected format.")
    if spec.name == "username" and "@" in value:
        return None, N_("A username cannot contain @.")
    if spec.type == "email":
        try:
            return validate_email(value, check_deliverability=False).normalized, None
        except EmailNotValidError:
            return None, N_("Enter a valid email address.")
    if spec.type == "date":
        try:
            if ISO_DATE.fullmatch(value):
                return date.fromisoformat(value).isoformat(), None
        except ValueError:
            pass
        return None, N_("Enter a valid date.")
    return value, None


class RegisterStep(Step):
    type = "register"
    Options = RegisterOptions
    outcomes = frozenset({"success"})
    optional_outcomes = {
        **Step.optional_outcomes, "sign_in": N_("Already have an account? Sign in")
    }
    template = "flow/register.html"

    @property
    def settings(self) -> RegisterOptions:
        assert isinstance(self.options, RegisterOptions)
        return self.options

    def _page(self, typed: Mapping[str, Any], errors: dict[str, str] | None = None) -> Page:
        fields = [
            {**spec.model_dump(exclude={"pattern"}), "value": typed.get(spec.name, "")}
            for spec in self.settings.fields
        ]
        policy = self.settings.password
        limits = {"min_length": policy.min_length, "max_length": policy.max_length}
        return Page(self.template, {"fields": fields, **limits}, errors or {})

    def _code_page(
        self, ctx: StepContext, errors: dict[str, str] | None = None, resent: bool = False
    ) -> Page:
        to = email_codes.mask_email(str(ctx.scratch.get("found", {}).get("email", "")))
        return Page(CODE_PAGE, {"to": to, "resent": resent}, errors or {})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.run.subject is not None:
            return Outcome("success")  # someone is signed in already
        if ctx.scratch.get("stage") == "code":
            return self._code_page(ctx)
        hint = ctx.sign_in.login_hint
        typed: dict[str, Any] = {}
        if hint is not None and "@" in hint:
            with suppress(EmailNotValidError):
                typed["email"] = validate_email(hint, check_deliverability=False).normalized
        return self._page(typed)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        if ctx.scratch.get("stage") == "code":
            return await self._confirm(ctx, form)
        typed: dict[str, Any] = {}  # as shown again
        found: dict[str, Any] = {}  # as stored
        errors: dict[str, str] = {}
        for spec in self.settings.fields:
            raw = form.get(spec.name, "")
            value, error = check_field(spec, raw)
            typed[spec.name] = value if spec.type == "checkbox" else raw.strip()[:1000]
            if error:
                errors[spec.name] = error
            elif value is not None:
                found[spec.name] = value
        password = form.get("password", "")
        personal = (typed.get("username"), typed.get("email"))
        problem = (password_problem(self.settings.password, password, *personal)
                   if password else N_("Choose a password."))
        if problem:
            errors["password"] = problem
        if password and form.get("password_confirm", "") != password:
            errors["password_confirm"] = N_("The passwords do not match.")
        if "username" in found and await ctx.store.users.find_by_login(found["username"]):
            errors["username"] = TAKEN_USERNAME
        if errors:
            return self._page(typed, errors)
        if not await self._may_sign_up(ctx):
            return self._page(typed, {"page": rate_limits.TOO_MANY_SIGN_UPS})
        password_hash = await ctx.passwords.hash(password)
        if found.get("email") and self.settings.verify_email:
            ctx.scratch.update(found=found, password_hash=password_hash)
            if not await self._send_code(ctx):
                return self._page(typed, {"page": email_codes.MAIL_FAILED})
            ctx.scratch["stage"] = "code"
            return self._code_page(ctx)
        created = await self._create(ctx, found, password_hash, verified=False)
        return created or self._page(typed, await self._taken(ctx, found))

    async def _may_sign_up(self, ctx: StepContext) -> bool:
        """Count a sign-up from this client address before its costly work (an argon2 hash, a
        mail); False when the hourly limit is reached."""
        limit = rate_limits.RateLimit("sign_up", "network", self.settings.sign_ups_per_client_address)
        return await rate_limits.take_all(ctx, (limit, rate_limits.client_network(ctx)))

    async def _send_code(self, ctx: StepContext) -> bool:
        """A new code, mailed to a free address; a taken one is told it has an account instead
        (the same work either way: a lookup, a code, a mail). Past an hourly mail limit nothing
        is sent, and the page is the same as when it is."""
        email = ctx.scratch["found"]["email"]
        taken = await ctx.store.users.find_by_login(email) is not None
        code = email_codes.issue(ctx.scratch, ctx.now, self.settings.code_lifetime)
        if not await email_codes.may_mail(ctx, self.settings, email):
            return True
        if taken:  # its code is never sent, so checking a guess costs the same as for a real one
            mail = Mail(to=email, subject=TAKEN_SUBJECT, text=TAKEN_TEXT)
        else:
            mail = email_codes.code_mail(
                email, SUBJECT, PURPOSE, code, self.settings.code_lifetime
            )
        if await email_codes.send(ctx, mail):
            return True
        ctx.scratch.pop("sent_at", None)  # nothing went out: trying again at once is fine
        return False

    async def _confirm(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        """The code page posted: a new code, other details, or the code that creates the account."""
        if form.get("restart"):
            earlier = ctx.scratch.get("found", {})
            ctx.scratch.clear()
            return self._page({k: v for k, v in earlier.items() if isinstance(v, str)})
        if form.get("resend"):
            if not email_codes.may_resend(ctx.scratch, ctx.now, self.settings.resend_interval):
                return self._code_page(ctx, {"page": email_codes.RESEND_TOO_SOON})
            if not await self._send_code(ctx):
                return self._code_page(ctx, {"page": email_codes.MAIL_FAILED})
            return self._code_page(ctx, resent=True)
        typed = form.get("code", "")
        if not typed.strip():
            return self._code_page(ctx, {"code": email_codes.ENTER_CODE})
        found: dict[str, Any] = ctx.scratch["found"]
        account = "email:" + str(found["email"]).casefold()
        checked = await email_codes.check(ctx, typed, self.settings.max_attempts, account)
        if checked.result is email_codes.Check.THROTTLED:
            return throttled(self._code_page(ctx), "code", checked.wait)
        if checked.result is not email_codes.Check.OK:
            return self._code_page(ctx, {"code": INVALID_CODE})
        password_hash = str(ctx.scratch["password_hash"])
        ctx.scratch.clear()
        created = await self._create(ctx, found, password_hash, verified=True)
        # Taken meanwhile (the address proved it is theirs, so saying so reveals nothing new).
        return created or self._page(found, await self._taken(ctx, found))

    async def _create(
        self, ctx: StepContext, found: dict[str, Any], password_hash: str, verified: bool
    ) -> Outcome | None:
        """The account, signed in; None when its username or email was taken meanwhile."""
        username, email = found["username"], found.get("email")
        claims = {k: v for k, v in found.items() if k not in ("username", "email")}
        user = UserRecord(
            id=secrets.token_urlsafe(16), username=username, email=email,
            email_verified=verified, password_hash=password_hash, claims=claims,
            created_at=ctx.now,
        )
        try:
            await ctx.store.users.add(user)
        except DuplicateError:
            return None
        ctx.identify(user)
        ctx.flow_data()["login"] = username
        ctx.record_authentication("pwd", "knowledge")  # they have just chosen the password
        return Outcome("success")

    @staticmethod
    async def _taken(ctx: StepContext, found: dict[str, Any]) -> dict[str, str]:
        """The error for an account that could not be added: its username or its email is taken."""
        if await ctx.store.users.find_by_login(found["username"]):
            return {"username": TAKEN_USERNAME}
        return {"email": TAKEN_EMAIL}
