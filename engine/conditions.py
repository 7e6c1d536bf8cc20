"""Conditions: the `if:` of a branch. A condition is a name and an argument, composed with
`all`, `any` and `not`; custom conditions are classes named by `package.module:ClassName`.

A condition reads the run's facts through the same `StepContext` a step gets; it never changes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Protocol, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from engine.assurance import ACR_VALUES_SUPPORTED, assess
from engine.model import RawCondition
from engine.sign_in_request import Prompt
from engine.yaml_source import Path
from steps import CredentialKind, NotLoadable, StepContext, credential_kinds, load_class
from store import Factor


class ConditionError(ValueError):
    """A condition that cannot be compiled; `path` is where, below the `if:`."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


class Test(Protocol):
    """A compiled condition."""

    async def test(self, ctx: StepContext) -> bool: ...
    def describe(self) -> str: ...


class Condition:
    """Base class of conditions: a `name`, the type of its `Argument`, and `test`."""

    name: ClassVar[str]
    Argument: ClassVar[Any] = bool
    summary: ClassVar[str] = ""

    def __init__(self, argument: Any) -> None:
        self.argument = argument

    async def test(self, ctx: StepContext) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        """The condition as flows.yaml writes it, e.g. `user_attribute: {name: x, equals: false}`."""
        return self.name if self.argument is True else f"{self.name}: {as_written(self.argument)}"


def as_written(argument: Any) -> str:
    """`argument` in YAML's flow style, with only the fields its author wrote."""
    if isinstance(argument, BaseModel):
        argument = argument.model_dump(mode="json", exclude_unset=True, by_alias=True)
    try:
        text = yaml.safe_dump(
            to_jsonable_python(argument), default_flow_style=True, sort_keys=False,
            allow_unicode=True, width=2**16,
        )
    except (PydanticSerializationError, yaml.YAMLError):
        return str(argument)  # a custom condition's argument of a type YAML cannot write
    return text.removesuffix("\n").removesuffix("\n...")  # the end marker after a scalar


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


class HasCredential(Condition):
    name = "has_credential"
    Argument = CredentialKind | list[CredentialKind]
    summary = "The user identified so far has a credential of this kind (or of one of these)."

    async def test(self, ctx: StepContext) -> bool:
        return bool(set(_listed(self.argument)) & await credential_kinds(ctx))


class ClientIs(Condition):
    name = "client"
    Argument = str | list[str]
    summary = "The client is one of these client ids."

    async def test(self, ctx: StepContext) -> bool:
        return ctx.client.client_id in _listed(self.argument)


class ClientTag(Condition):
    name = "client_tag"
    Argument = str | list[str]
    summary = "The client has one of these `tags`."

    async def test(self, ctx: StepContext) -> bool:
        return bool(set(_listed(self.argument)) & set(ctx.client.tags))


class AcrRequested(Condition):
    name = "acr_requested"
    Argument = str | list[str]
    summary = "The request's `acr_values` include one of these."

    async def test(self, ctx: StepContext) -> bool:
        return bool(set(_listed(self.argument)) & set(ctx.sign_in.acr_values))


class PromptIs(Condition):
    name = "prompt"
    Argument = Prompt
    summary = "The request's `prompt` includes this value."

    async def test(self, ctx: StepContext) -> bool:
        return self.argument in ctx.sign_in.prompt


class LoginHint(Condition):
    name = "login_hint"
    summary = "The request carried a `login_hint` (`false`: it did not)."

    async def test(self, ctx: StepContext) -> bool:
        return bool(ctx.sign_in.login_hint) is self.argument


class SignedIn(Condition):
    name = "signed_in"
    summary = "The run already knows who the user is (a session, or an earlier step)."

    async def test(self, ctx: StepContext) -> bool:
        return (ctx.run.subject is not None) is self.argument


class AttributeMatch(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    equals: Any = None
    one_of: list[Any] | None = Field(None, alias="in")
    present: bool | None = None


class UserAttribute(Condition):
    name = "user_attribute"
    Argument = AttributeMatch
    summary = "A user attribute (`username`, `email`, `email_verified` or a claim) matches."

    async def test(self, ctx: StepContext) -> bool:
        user = await ctx.user()
        if user is None:
            return False
        match: AttributeMatch = self.argument
        fields: dict[str, Any] = {"username": user.username, "email": user.email}
        fields["email_verified"] = user.email_verified
        value = fields.get(match.name, user.claims.get(match.name))
        if match.present is not None:
            return (value is not None) == match.present
        if match.one_of is not None:
            return bool(value in match.one_of)
        return bool(value == match.equals)


class InGroup(Condition):
    name = "in_group"
    Argument = str | list[str]
    summary = "The user is in one of these groups."

    async def test(self, ctx: StepContext) -> bool:
        user = await ctx.user()
        return user is not None and bool(set(_listed(self.argument)) & set(user.groups))


class AcrBelow(Condition):
    name = "acr_below"
    Argument = Literal[tuple(ACR_VALUES_SUPPORTED)]  # type: ignore[valid-type]
    summary = "What the run has proved so far (a session's proofs included) is below this acr."

    async def test(self, ctx: StepContext) -> bool:
        if not ctx.run.auth_events:
            return True
        reached = assess(ctx.run.auth_events).acr
        return ACR_VALUES_SUPPORTED.index(reached) < ACR_VALUES_SUPPORTED.index(self.argument)


class Proved(Condition):
    name = "proved"
    Argument = Factor | list[Factor]
    summary = (
        "The run (a session's proofs included) has a proof of this factor class: knowledge,"
        " possession or inherence (or of one of these)."
    )

    async def test(self, ctx: StepContext) -> bool:
        return ctx.proved(*cast(list[Factor], _listed(self.argument)))


class MfaOlderThan(Condition):
    name = "mfa_older_than"
    Argument = int
    summary = "The last second factor (possession or inherence) is older than this many seconds, or there is none."

    async def test(self, ctx: StepContext) -> bool:
        times = [e.at for e in ctx.run.auth_events if e.factor != "knowledge"]
        return not times or ctx.now - max(times) > self.argument


class PasswordOlderThan(Condition):
    name = "password_older_than"
    Argument = int
    summary = (
        "The user's password was set more than this many days ago (for a `change_password`"
        " required action)."
    )

    async def test(self, ctx: StepContext) -> bool:
        user = await ctx.user()
        if user is None or user.password_hash is None:
            return False
        changed = user.password_changed_at or user.created_at
        return bool(ctx.now - changed > int(self.argument) * 24 * 3600)


class KnownDevice(Condition):
    name = "known_device"
    summary = (
        "The user chose to remember this browser (a `remember_device` step), and has not asked"
        " since to forget remembered browsers."
    )

    async def test(self, ctx: StepContext) -> bool:
        user = await ctx.user()
        at = ctx.browser.remembered.get(user.id) if user else None
        known = user is not None and at is not None and at >= user.devices_forgotten_at
        return known is self.argument


class UpstreamMatch(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    provider: str | list[str] | None = None
    claim: str | None = None
    equals: Any = None
    one_of: list[Any] | None = Field(None, alias="in")
    contains: Any = None
    present: bool | None = None


class Upstream(Condition):
    name = "upstream"
    Argument = bool | str | list[str] | UpstreamMatch
    summary = (
        "The run signed in through an upstream provider (a `federated` step): `true` (any),"
        " one of these ids, or `{provider, claim, equals | in | contains | present}` to test"
        " what it asserted, e.g. `{claim: amr, contains: mfa}`."
    )

    async def test(self, ctx: StepContext) -> bool:
        upstream = ctx.flow_data().get("upstream")
        match = self.argument
        if isinstance(match, bool):
            return isinstance(upstream, dict) is match
        if not isinstance(upstream, dict):
            return False
        if not isinstance(match, UpstreamMatch):
            return upstream.get("provider") in _listed(match)
        if match.provider is not None and upstream.get("provider") not in _listed(match.provider):
            return False
        if match.claim is None:
            return True
        value = upstream.get("claims", {}).get(match.claim)
        if match.present is not None:
            return (value is not None) == match.present
        if match.contains is not None:
            return isinstance(value, list) and match.contains in value
        if match.one_of is not None:
            return bool(value in match.one_of)
        return bool(value == match.equals)


class AttemptsOver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: str
    over: int = Field(ge=0)


class Attempts(Condition):
    name = "attempts"
    Argument = AttemptsOver
    summary = "The failed attempts at a step of this run exceed `over`."

    async def test(self, ctx: StepContext) -> bool:
        argument: AttemptsOver = self.argument
        return ctx.run.attempts.get(argument.step, 0) > argument.over


BUILTIN_CONDITIONS: dict[str, type[Condition]] = {
    cls.name: cls
    for cls in (
        HasCredential, ClientIs, ClientTag, AcrRequested, PromptIs, LoginHint, SignedIn,
        UserAttribute, InGroup, AcrBelow, Proved, MfaOlderThan, PasswordOlderThan, KnownDevice,
        Attempts, Upstream,
    )
}
COMPOSITES = ("all", "any", "not")


class _AllOf:
    def __init__(self, parts: Sequence[Test]) -> None:
        self.parts = parts

    async def test(self, ctx: StepContext) -> bool:
        for part in self.parts:
            if not await part.test(ctx):
                return False
        return True

    def describe(self) -> str:
        return " and ".join(f"({p.describe()})" for p in self.parts)


class _AnyOf(_AllOf):
    async def test(self, ctx: StepContext) -> bool:
        for part in self.parts:
            if await part.test(ctx):
                return True
        return False

    def describe(self) -> str:
        return " or ".join(f"({p.describe()})" for p in self.parts)


class _Not:
    def __init__(self, part: Test) -> None:
        self.part = part

    async def test(self, ctx: StepContext) -> bool:
        return not await self.part.test(ctx)

    def describe(self) -> str:
        return f"not ({self.part.describe()})"


def compile_condition(raw: RawCondition, path: Path = ()) -> Test:
    """The compiled form of a written condition; raises `ConditionError` saying where and why."""
    argument: Any
    if isinstance(raw, str):
        name, argument = raw, True
    elif isinstance(raw, dict) and len(raw) == 1:
        name, argument = next(iter(raw.items()))
    else:
        raise ConditionError(path, "a condition is a name, or a mapping with exactly one key")
    here: Path = path if isinstance(raw, str) else (*path, name)
    if name in ("all", "any"):
        if not isinstance(argument, list) or not argument:
            raise ConditionError(here, f"`{name}` takes a non-empty list of conditions")
        parts = [compile_condition(item, (*here, i)) for i, item in enumerate(argument)]
        return _AllOf(parts) if name == "all" else _AnyOf(parts)
    if name == "not":
        if not isinstance(argument, str | dict):
            raise ConditionError(here, "`not` takes one condition")
        return _Not(compile_condition(argument, here))
    cls = resolve_condition(name, here)
    try:
        value = TypeAdapter(cls.Argument).validate_python(argument)
    except ValidationError as exc:
        # Each problem names its field, and the error points at the first one, as the step
        # options' errors do.
        fields = _field_names(cls.Argument)
        found = [(_named(e["loc"], fields, e["type"] == "extra_forbidden"), e["msg"])
                 for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, loc))}: {msg}" if loc else msg
                           for loc, msg in found)
        raise ConditionError((*here, *found[0][0]), f"condition {name!r}: {detail}") from exc
    return cls(value)


def _named(loc: tuple[int | str, ...], fields: set[str], extra: bool) -> list[int | str]:
    """The parts of an error location that name a field, an index or (last, for a key that
    is not allowed) the key written."""
    return [p for i, p in enumerate(loc)
            if isinstance(p, int) or p in fields or (extra and i == len(loc) - 1)]


def _field_names(annotation: Any) -> set[str]:
    """The field names of the models in a condition's argument type (pydantic's error
    locations also name the members of a union, which are no fields)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        names = set(annotation.model_fields)
        for field in annotation.model_fields.values():
            names |= _field_names(field.annotation)
        return names
    return {name for arg in get_args(annotation) for name in _field_names(arg)}


def resolve_condition(name: str, path: Path = ()) -> type[Condition]:
    """A built-in condition by name, or a custom one by `package.module:ClassName`."""
    if name in BUILTIN_CONDITIONS:
        return BUILTIN_CONDITIONS[name]
    if ":" not in name:
        known = ", ".join([*sorted(BUILTIN_CONDITIONS), *COMPOSITES])
        raise ConditionError(path, f"unknown condition {name!r} (known: {known};"
                             " a custom condition is named as package.module:ClassName)")
    try:
        return load_class(name, Condition, "condition")
    except NotLoadable as exc:
        raise ConditionError(path, str(exc)) from exc
