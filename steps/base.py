"""The step interface: the extension point of the flow language.

A step is a small class registered under a `type:` name. It declares its options model, the
outcomes it can emit, the factor it proves (if any) and its template, as class attributes; the
loader checks `flows.yaml` against them. Steps never touch HTTP: `render` returns a `Page`, and
`handle` returns an `Outcome` (move on) or a `Page` (show the step again, with errors).
"""

from __future__ import annotations

import builtins
import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from core import N_, Device, NoOptions, describe_device
from store import AuthEvent, ClientRecord, Factor, FlowRunRecord, SignInRequest, UserRecord

NOTICE = "notice"  # its key in the run's flow data
MAX_STEP_DATA = 16_384  # bytes of JSON a step keeps about one user (`StepContext.user_data`)

if TYPE_CHECKING:
    from federation import Upstream, UserDirectory
    from mail import Mailer
    from steps.password_hashing import PasswordHashing
    from store import Sealer, Store


@dataclass
class Page:
    """What a step shows: a template under `ui/templates/`, its values and per-field errors.

    Error texts are message ids, translated when the page is rendered.
    """

    template: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Filled in by the engine: the step's name, its wired optional outcomes (outcome, label),
    # the login identified so far (for "not you?"), and what an earlier step left to say.
    step: str = ""
    actions: list[tuple[str, str]] = field(default_factory=list)
    identified_as: str | None = None
    notice: str | None = None


@dataclass
class Outcome:
    """The result of a step; the flow's `on:` map says where each outcome leads."""

    name: str


@dataclass(frozen=True)
class Redirect:
    """Send the browser away (to an upstream provider); the run waits at this step until the
    browser comes back, when the step's `returned` finishes what it began."""

    url: str


@dataclass(frozen=True)
class BrowserFacts:
    """What a step may know of the browser (`ctx.browser`), from the request and its cookies:

    - `client_address`: where the request came from (the peer; behind a reverse proxy, the
      address `trusted_proxies` lets Gatehouse read);
    - `user_agent` (at most 512 characters), and `device`, the browser and system it names, as
      the account page shows sessions ("Firefox" on "Windows"; empty when unknown);
    - `languages`: those the browser asks for (Accept-Language), most wanted first;
    - `remembered`: the users who chose to remember this browser (skip the second factor), and
      when; `signed_in`: the subject of its live session (filled in for a submitted form);
    - `seen`: the users who signed in with this browser before, and when they first did, kept
      for a year after their last sign-in whatever they chose ("New sign-in from..." alerts).
    """

    remembered: Mapping[str, float] = field(default_factory=dict)
    client_address: str | None = None
    signed_in: str | None = None
    user_agent: str | None = None
    languages: tuple[str, ...] = ()
    seen: Mapping[str, float] = field(default_factory=dict)

    def knows(self, subject: str) -> bool:
        """Whether this user has signed in with this browser: a live session, or a remembered
        device."""
        return subject == self.signed_in or subject in self.remembered

    def signed_in_before(self, subject: str) -> bool:
        """Whether this user has signed in with this browser before (this sign-in aside)."""
        return subject in self.seen or subject == self.signed_in

    @property
    def device(self) -> Device:
        return describe_device(self.user_agent)


@dataclass(frozen=True)
class RelyingParty:
    """Who WebAuthn credentials are for: the RP id (a registrable domain, e.g. `example.com`),
    the name authenticators show, and the origins pages are served from (`https://login.example.com`)."""

    id: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class Services:
    """What steps use besides the run: the store, password hashing, mail, the sealer of secrets
    kept at rest, the WebAuthn relying party, the upstream providers by id, and the user
    directories of gatehouse.yaml by name."""

    store: Store
    passwords: PasswordHashing
    mailer: Mailer
    sealer: Sealer
    relying_party: RelyingParty
    upstreams: Mapping[str, Upstream] = field(default_factory=dict)
    directories: Mapping[str, UserDirectory] = field(default_factory=dict)


@dataclass
class StepContext:
    """What a step (or a condition) may use while it renders or handles a form."""

    run: FlowRunRecord
    step_name: str
    client: ClientRecord
    services: Services
    now: float
    browser: BrowserFacts = field(default_factory=BrowserFacts)
    _user: UserRecord | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def passwords(self) -> PasswordHashing:
        return self.services.passwords

    @property
    def mailer(self) -> Mailer:
        return self.services.mailer

    async def user(self) -> UserRecord | None:
        """The user identified so far in this run (loaded once per request)."""
        if self.run.subject is None:
            return None
        if self._user is None or self._user.id != self.run.subject:
            self._user = await self.store.users.get(self.run.subject)
        return self._user

    def identify(self, user: UserRecord) -> None:
        """Say who the run is about (a proof must still be recorded to sign them in). Proofs
        gathered for someone else (a session the run started on) never count for this user."""
        if self.run.subject != user.id:
            self.run.auth_events, self.run.session_sid = [], None
        self.run.subject, self._user = user.id, user

    def forget(self) -> None:
        """The run is about nobody again: its user and proofs are dropped (a sign-in made only
        for something that was then refused)."""
        self.run.subject, self.run.auth_events, self.run.session_sid = None, [], None
        self._user = None

    async def checkpoint(self) -> None:
        """Save the run now (raises `StaleVersionError` if another request moved it): a step
        that counts guesses saves the count before it compares, so parallel guesses cannot
        share one attempt."""
        await self.store.runs.save(self.run)

    @property
    def sign_in(self) -> SignInRequest:
        """What the run's sign-in asks for (scopes, prompt, login_hint...), whatever protocol
        it came in by."""
        return self.run.sign_in

    @property
    def scratch(self) -> dict[str, Any]:
        """This step's private data in the run, kept between requests."""
        return self.run.scratch.setdefault(f"{self.run.flow}/{self.step_name}", {})

    def flow_data(self) -> dict[str, Any]:
        """Data shared by all steps of the run (e.g. the login name `identify` collected)."""
        return self.run.scratch.setdefault("_flow", {})

    def notify(self, message: str) -> None:
        """Leave a message id (e.g. "Your password was changed.") for the pages the run shows
        next, until the next form is sent."""
        self.flow_data()[NOTICE] = message

    async def user_data(self, namespace: str) -> dict[str, Any]:
        """The data a step keeps about the user identified so far, under `namespace` (by custom,
        the step type's name, e.g. `acme.new_sign_in`): a copy, empty at first, or when no user
        is known. Kept on the user record across runs, never released as a claim."""
        user = await self.user()
        return copy.deepcopy(user.step_data.get(namespace, {})) if user else {}

    async def save_user_data(self, namespace: str, data: dict[str, Any]) -> None:
        """Keep `data` (JSON values, at most `MAX_STEP_DATA` bytes as JSON) about the user
        identified so far under `namespace`, in place of what was there; ValueError when no user
        is known, or the data is too large or not JSON."""
        user = await self.user()
        if user is None:
            raise ValueError("no user is known yet: identify one first")
        if not 0 < len(namespace) <= 100:
            raise ValueError("a namespace has 1 to 100 characters")
        if len(json.dumps(data, allow_nan=False)) > MAX_STEP_DATA:
            raise ValueError(f"step data is kept up to {MAX_STEP_DATA} bytes as JSON")
        user.step_data[namespace] = copy.deepcopy(data)
        await self.store.users.update(user)

    def proved(self, *factors: Factor) -> bool:
        """Whether the run (a session's proofs included) holds a proof of one of these factor
        classes for a known user: a step whose proof is there passes without a page."""
        return self.run.subject is not None and any(
            event.factor in factors for event in self.run.auth_events
        )

    def record_authentication(self, method: str, factor: Factor) -> None:
        """Note a proof of identity: `method` is an RFC 8176 `amr` value."""
        self.run.auth_events.append(AuthEvent(method=method, factor=factor, at=self.now))


class Step:
    """Base class of step types.

    `outcomes` must each be wired in `on:`. `optional_outcomes` (outcome -> button label) are
    offered as buttons only where the flow wires them, e.g. "Forgot your password?".
    """

    type: ClassVar[str]
    Options: ClassVar[builtins.type[BaseModel]] = NoOptions
    outcomes: ClassVar[frozenset[str]] = frozenset({"success"})
    optional_outcomes: ClassVar[dict[str, str]] = {"another_way": N_("Try another way")}
    template: ClassVar[str]
    shows_page: ClassVar[bool] = True

    def __init__(self, name: str, options: BaseModel) -> None:
        self.name = name
        self.options = options

    @classmethod
    def outcomes_for(cls, options: BaseModel) -> frozenset[str]:
        """The outcomes a step with these options emits (most types: the class's `outcomes`)."""
        return cls.outcomes

    async def render(self, ctx: StepContext) -> Page | Outcome:
        """The page for this step as it first appears, or an outcome when there is nothing to
        ask (a user already identified, a consent already given): the run moves straight on."""
        raise NotImplementedError

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page | Redirect:
        """Act on a submitted form (a `Redirect` only from steps that implement `returned`)."""
        raise NotImplementedError

    async def returned(self, ctx: StepContext, params: Mapping[str, str]) -> Outcome | None:
        """The browser came back from where this step's `Redirect` sent it, with `params`; an
        outcome moves the run on, None shows the step again. Steps that never redirect ignore it."""
        return None
