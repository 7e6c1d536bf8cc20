"""`FlowTester`: drive your flows in a unit test, without a server.

It runs the real engine and steps on an in-memory store with a fake mailer and a clock you move,
so trying a journey never touches real users or sends real mail::

    async with FlowTester("flows.yaml") as tester:
        await tester.add_user("alice", password="a long passphrase")
        await tester.start()
        assert tester.step == "identify"
        await tester.submit(login="alice")
        await tester.submit(password="a long passphrase")
        assert tester.result == "done" and tester.amr == ["pwd"]
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from engine.assurance import assess
from engine.loader import FlowSet, load_flows, load_flows_text
from engine.runs import CHOSEN_OUTCOME, FORM_STEP, SWITCH_USER, FlowEngine, Seed
from engine.sign_in_request import Finish, SignInRequest
from mail import Mail, Mailer, MemoryMailer
from steps import BrowserFacts, Page, PasswordHashing, Redirect, RelyingParty, Services
from store import AuthEvent, ClientRecord, FlowRunRecord, Sealer, Store, UserRecord, open_store

TEST_RELYING_PARTY = RelyingParty("localhost", "Gatehouse", ("http://localhost:8000",))
FINISH = "flow_tester"  # its runs end in the tester: nothing answers a client


def test_services(
    store: Store, passwords: PasswordHashing, mailer: Mailer | None = None
) -> Services:
    """Services for tests: a fresh sealing key, a fake mailer, WebAuthn for localhost:8000."""
    return Services(
        store, passwords, mailer or MemoryMailer(), Sealer([Sealer.new_key()]), TEST_RELYING_PARTY
    )


test_services.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


class FlowTester:
    """One flow run at a time, driven like a browser would: `start`, then `submit` forms."""

    def __init__(
        self, flows: FlowSet | str | Path, now: float | None = None, mailer: Mailer | None = None
    ) -> None:
        if isinstance(flows, FlowSet):
            self.flows = flows
        elif isinstance(flows, Path) or "\n" not in flows:
            self.flows = load_flows(flows)
        else:
            self.flows = load_flows_text(flows)
        self.now = now if now is not None else time.time()
        self.mailer: Mailer = mailer if mailer is not None else MemoryMailer()
        self.browser = BrowserFacts()
        self.client = ClientRecord(
            client_id="test-client",
            redirect_uris=["https://client.example/cb"],
            scope="openid profile email offline_access",
        )
        self.page: Page | None = None
        self._run: FlowRunRecord | None = None

    async def __aenter__(self) -> FlowTester:
        self.store: Store = await open_store("sqlite://:memory:")
        # Cheap argon2 parameters: the tests exercise flows, not hashing strength.
        self.passwords = PasswordHashing(threads=1, time_cost=1, memory_cost=8, parallelism=1)
        self.services = test_services(self.store, self.passwords, self.mailer)
        self.engine = FlowEngine(self.flows, self.services, clock=lambda: self.now)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.store.close()
        self.passwords.close()

    async def add_user(
        self, username: str, password: str | None = None, **fields: Any
    ) -> UserRecord:
        """A user in the tester's store (fields as in `UserRecord`: email, groups, claims...)."""
        user = UserRecord(
            id=fields.pop("id", secrets.token_hex(8)),
            username=username,
            password_hash=await self.passwords.hash(password) if password else None,
            created_at=self.now,
            **fields,
        )
        await self.store.users.add(user)
        return user

    async def start(
        self,
        client: ClientRecord | None = None,
        session: tuple[UserRecord, list[AuthEvent]] | None = None,
        flow: str | None = None,
        **request: Any,
    ) -> Page | None:
        """Start a run as the authorize endpoint would, with the sign-in request's fields such
        as `acr_values=[...]`, `prompt=["login"]`, `login_hint="alice"`, `claims={...}`, and the
        scopes as the request's `scope` says them (`scope="openid email"`; `openid` if not given);
        `session` stands for an existing sign-in (its user and proofs) that the run adds to;
        `flow` runs that flow whatever the client and request would select."""
        self.client = client or self.client
        await self.store.clients.put(self.client)
        scopes = str(request.pop("scope", "openid")).split()
        sign_in = SignInRequest(
            client_id=self.client.client_id, scopes=scopes, finish=Finish(kind=FINISH), **request
        )
        seed = Seed(session[0].id, session[1]) if session else None
        self._run = await self.engine.start(
            self.client, sign_in, "test-browser", seed, self.browser, flow_name=flow
        )
        return await self._show()

    async def submit(self, **form: str) -> Page | None:
        """Post the current step's form; returns the page shown next (None when finished)."""
        run = self.run
        posted = {FORM_STEP: self.engine.position(run), **form}
        page = await self.engine.submit(run, self.client, posted, self.browser)
        if isinstance(page, Redirect):
            raise NotImplementedError(f"the step sends the browser to {page.url}: test it end to end")
        if page is not None:
            self.page = page
            return page
        return await self._show()

    async def choose(self, outcome: str) -> Page | None:
        """Press one of the step's optional-outcome buttons ("Forgot your password?")."""
        return await self.submit(**{CHOSEN_OUTCOME: outcome})

    async def switch_user(self) -> Page | None:
        """Press "Not you?"."""
        return await self.submit(**{SWITCH_USER: "1"})

    async def _show(self) -> Page | None:
        self.page = await self.engine.show(self.run, self.client, self.browser)
        return self.page

    def advance_clock(self, seconds: float) -> None:
        self.now += seconds

    @property
    def run(self) -> FlowRunRecord:
        if self._run is None:
            raise RuntimeError("call start() first")
        return self._run

    @property
    def step(self) -> str | None:
        """The step showing a page, or None when the run has finished."""
        return None if self.engine.is_finished(self.run) else self.run.state

    @property
    def flow(self) -> str:
        return self.run.flow

    @property
    def result(self) -> str | None:
        """`done`, `deny` or `error` once finished; None before."""
        return self.run.state if self.engine.is_finished(self.run) else None

    @property
    def message(self) -> str | None:
        return self.run.message

    @property
    def path(self) -> list[str]:
        """The steps the run went through, in order (sub-flow steps included)."""
        return [e["step"] for e in self.run.log if e["event"] == "outcome"] + [self.run.state]

    @property
    def subject(self) -> str | None:
        return self.run.subject

    @property
    def amr(self) -> list[str]:
        return assess(self.run.auth_events).amr if self.run.auth_events else []

    @property
    def acr(self) -> str | None:
        return assess(self.run.auth_events).acr if self.run.auth_events else None

    @property
    def mail(self) -> list[Mail]:
        """The messages sent so far (with the default `MemoryMailer`)."""
        if not isinstance(self.mailer, MemoryMailer):
            raise TypeError("tester.mail lists messages only when the mailer is a MemoryMailer")
        return self.mailer.sent
