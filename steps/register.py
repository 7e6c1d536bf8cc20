"""`register`: sign up with the fields the flow declares, and a password chosen under the policy.

`username` and `email` fill the user record; any other field is stored as a claim of that name
(use OIDC standard claim names: `name`, `given_name`, `phone_number`, `birthdate`...).
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

from steps.base import Outcome, Page, Step, StepContext
from steps.password_policy import PasswordPolicy, password_problem
from store.errors import DuplicateError
from store.records import UserRecord
from ui.messages import N_

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


class RegisterOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: list[FieldSpec] = Field(
        default_factory=default_fields, min_length=1, max_length=20,
        description="The inputs, in page order; `username` is required.",
    )
    password: PasswordPolicy = Field(
        default_factory=lambda: PasswordPolicy.model_validate({}),
        description="The rules for the chosen password.",
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


def _check(spec: FieldSpec, raw: str) -> tuple[Any, str | None]:
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

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.run.subject is not None:
            return Outcome("success")  # someone is signed in already
        hint = ctx.request.get("login_hint")
        typed: dict[str, Any] = {}
        if isinstance(hint, str) and "@" in hint:
            with suppress(EmailNotValidError):
                typed["email"] = validate_email(hint, check_deliverability=False).normalized
        return self._page(typed)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        typed: dict[str, Any] = {}  # as shown again
        found: dict[str, Any] = {}  # as stored
        errors: dict[str, str] = {}
        for spec in self.settings.fields:
            raw = form.get(spec.name, "")
            value, error = _check(spec, raw)
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
        if errors:
            return self._page(typed, errors)
        username, email = found["username"], found.get("email")
        claims = {k: v for k, v in found.items() if k not in ("username", "email")}
        user = UserRecord(
            id=secrets.token_urlsafe(16), username=username, email=email,
            email_verified=False, password_hash=await ctx.passwords.hash(password),
            claims=claims, created_at=ctx.now,
        )
        try:
            await ctx.store.users.add(user)
        except DuplicateError:
            if await ctx.store.users.find_by_login(username):
                errors["username"] = N_("That username is taken.")
            elif email and await ctx.store.users.find_by_login(email):
                errors["email"] = N_("An account with that email already exists.")
            else:
                raise
            return self._page(typed, errors)
        ctx.identify(user)
        ctx.flow_data()["login"] = username
        ctx.record_authentication("pwd", "knowledge")  # they have just chosen the password
        return Outcome("success")
