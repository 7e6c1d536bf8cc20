"""The step interface: the extension point of the flow language.

A step is a small class registered under a `type:` name. It declares its options model, the
outcomes it can emit, the factor it proves (if any) and its template, as class attributes; the
loader checks `flows.yaml` against them. Steps never touch HTTP: `render` returns a `Page`, and
`handle` returns an `Outcome` (move on) or a `Page` (show the step again, with errors).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from store.records import AuthEvent, ClientRecord, Factor, FlowRunRecord

if TYPE_CHECKING:
    from steps.password_hashing import PasswordHashing
    from store.repositories import Store


class NoOptions(BaseModel):
    """For steps without settings: any key in `options:` is an error."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Page:
    """What a step shows: a template under `ui/templates/`, its values and per-field errors.

    Error texts are message ids, translated when the page is rendered.
    """

    template: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """The result of a step; the flow's `on:` map says where each outcome leads."""

    name: str


@dataclass
class StepContext:
    """What a step may use while it renders or handles a form."""

    run: FlowRunRecord
    step_name: str
    client: ClientRecord
    store: Store
    passwords: PasswordHashing
    now: float

    @property
    def request(self) -> dict[str, Any]:
        """The validated authorize request that started the run."""
        return self.run.request

    @property
    def scratch(self) -> dict[str, Any]:
        """This step's private data in the run, kept between requests."""
        return self.run.scratch.setdefault(self.step_name, {})

    def flow_data(self) -> dict[str, Any]:
        """Data shared by all steps of the run (e.g. the login name `identify` collected)."""
        return self.run.scratch.setdefault("_flow", {})

    def record_authentication(self, method: str, factor: Factor) -> None:
        """Note a proof of identity: `method` is an RFC 8176 `amr` value."""
        self.run.auth_events.append(AuthEvent(method=method, factor=factor, at=self.now))


class Step:
    """Base class of step types."""

    type: ClassVar[str]
    Options: ClassVar[builtins.type[BaseModel]] = NoOptions
    outcomes: ClassVar[frozenset[str]] = frozenset({"success"})
    template: ClassVar[str]

    def __init__(self, name: str, options: BaseModel) -> None:
        self.name = name
        self.options = options

    async def render(self, ctx: StepContext) -> Page:
        """The page for this step as it first appears."""
        raise NotImplementedError

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        """Act on a submitted form."""
        raise NotImplementedError
