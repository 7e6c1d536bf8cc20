"""FlowEngine: runs start, move through steps with form posts, finish once; and assurance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from engine.assurance import assess
from engine.loader import FlowSet, load_flows_text
from engine.runs import FlowEngine
from engine.sign_in_request import Finish, SignInRequest
from engine.testing import test_services
from steps.base import Page
from steps.password_hashing import PasswordHashing
from store import StaleVersionError, Store, open_store
from store.records import AuthEvent, ClientRecord, FlowRunRecord, UserRecord

NOW = 1_700_000_000.0
PASSWORD = "correct horse battery staple"

FLOWS = """\
default_flow: default
flows:
  default:
    steps:
      identify:
        type: identify
        on:
          success: password
      password:
        type: password
        on:
          success: done
  one-page:
    steps:
      password:
        type: password
        on:
          success: done
"""


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def passwords() -> Iterator[PasswordHashing]:
    hashing = PasswordHashing(threads=1, time_cost=1, memory_cost=8, parallelism=1)
    try:
        yield hashing
    finally:
        hashing.close()


@pytest.fixture
async def store(passwords: PasswordHashing) -> AsyncIterator[Store]:
    opened = await open_store("sqlite://:memory:")
    try:
        await opened.users.add(UserRecord(
            id="u1", username="alice", email="alice@example.com",
            password_hash=await passwords.hash(PASSWORD), created_at=NOW,
        ))
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def flows() -> FlowSet:
    return load_flows_text(FLOWS, "flows.yaml")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(flows: FlowSet, store: Store, passwords: PasswordHashing, clock: Clock) -> FlowEngine:
    return FlowEngine(flows, test_services(store, passwords), run_lifetime=1800, clock=clock)


@pytest.fixture
def client() -> ClientRecord:
    return ClientRecord(client_id="app", redirect_uris=["https://a.example/cb"])


async def start(engine: FlowEngine, client: ClientRecord) -> FlowRunRecord:
    sign_in = SignInRequest(client_id=client.client_id, scopes=["openid"], finish=Finish(kind="test"))
    return await engine.start(client, sign_in, "bh")


async def reload(engine: FlowEngine, run: FlowRunRecord) -> FlowRunRecord:
    loaded = await engine.load(run.id)
    assert loaded is not None
    return loaded


async def test_start_puts_the_run_at_the_first_step(
    engine: FlowEngine, client: ClientRecord, flows: FlowSet
) -> None:
    run = await start(engine, client)
    assert (run.flow, run.flows_version, run.state) == ("default", flows.version, "identify")
    assert (run.sign_in.client_id, run.browser_hash, run.version, run.subject) == ("app", "bh", 0, None)
    assert len(run.csrf_token) >= 32
    assert (run.created_at, run.deadline) == (NOW, NOW + 1800)
    assert await engine.load(run.id) == run


async def test_empty_login_shows_the_step_again(engine: FlowEngine, client: ClientRecord) -> None:
    run = await start(engine, client)
    page = await engine.submit(run, client, {"login": "   "})
    assert isinstance(page, Page)
    assert (page.template, page.values, page.errors) == (
        "flow/identify.html", {"login": ""}, {"login": "Enter your username or email."}
    )
    assert run.state == "identify"
    assert (await reload(engine, run)).state == "identify"


async def test_password_journey(engine: FlowEngine, client: ClientRecord, clock: Clock) -> None:
    run = await start(engine, client)
    assert await engine.submit(run, client, {"login": "Alice"}) is None
    assert run.state == "password"
    for attempt in (1, 2):
        page = await engine.submit(run, client, {"password": "wrong"})
        assert isinstance(page, Page)
        assert page.errors == {"password": "Incorrect username or password."}
        assert page.values == {"login": "Alice", "identified": True}
        assert (run.state, run.attempts, run.subject) == ("password", {"password": attempt}, None)
    assert (await reload(engine, run)).attempts == {"password": 2}
    clock.now = NOW + 5
    assert await engine.submit(run, client, {"password": PASSWORD}) is None
    assert (run.state, run.subject) == ("done", "u1")
    assert [(e.method, e.factor, e.at) for e in run.auth_events] == [
        ("pwd", "knowledge", NOW + 5)
    ]
    assert FlowEngine.is_finished(run)
    stored = await reload(engine, run)
    assert (stored.state, stored.subject, stored.version) == ("done", "u1", run.version)
    await engine.finish(run)
    assert await engine.load(run.id) is None


async def test_unknown_login_gets_the_same_answer(
    engine: FlowEngine, client: ClientRecord
) -> None:
    run = await start(engine, client)
    await engine.submit(run, client, {"login": "mallory"})
    page = await engine.submit(run, client, {"password": PASSWORD})
    assert isinstance(page, Page)
    assert page.errors == {"password": "Incorrect username or password."}
    assert (run.state, run.subject, run.attempts) == ("password", None, {"password": 1})


async def test_a_double_submit_advances_once(engine: FlowEngine, client: ClientRecord) -> None:
    run = await start(engine, client)
    first, second = await reload(engine, run), await reload(engine, run)
    assert await engine.submit(first, client, {"login": "alice"}) is None
    with pytest.raises(StaleVersionError):
        await engine.submit(second, client, {"login": "bob"})
    stored = await reload(engine, run)
    assert (stored.state, stored.scratch["_flow"]["login"]) == ("password", "alice")


async def test_finishing_twice_lets_one_win(engine: FlowEngine, client: ClientRecord) -> None:
    run = await start(engine, client)
    await engine.submit(run, client, {"login": "alice@EXAMPLE.com"})
    await engine.submit(run, client, {"password": PASSWORD})
    first, second = await reload(engine, run), await reload(engine, run)
    await engine.finish(first)
    with pytest.raises(StaleVersionError):
        await engine.finish(second)
    assert await engine.load(run.id) is None


async def test_a_run_keeps_its_flows_version_across_reloads(
    engine: FlowEngine, client: ClientRecord, store: Store, passwords: PasswordHashing
) -> None:
    run = await start(engine, client)
    changed = load_flows_text(FLOWS.replace("          success: password\n",
                                            "          success: done\n").replace(
        "      password:\n        type: password\n        on:\n          success: done\n  one-page",
        "  one-page"))
    assert changed.version != run.flows_version
    engine.reload(changed)
    assert (await start(engine, client)).flows_version == changed.version
    loaded = await reload(engine, run)
    assert await engine.submit(loaded, client, {"login": "alice"}) is None
    assert loaded.state == "password"  # the old version's wiring, not the new one's
    other = FlowEngine(changed, test_services(store, passwords), clock=Clock())
    assert engine.can_go_on(loaded)
    assert not other.can_go_on(loaded)  # a process that never knew that version: start again


async def test_an_expired_run_cannot_go_on_and_is_kept_an_hour_to_start_again(
    engine: FlowEngine, client: ClientRecord, clock: Clock
) -> None:
    run = await start(engine, client)
    assert (run.deadline, run.expires_at) == (NOW + 1800, NOW + 1800 + 3600)
    clock.now = NOW + 1799
    assert engine.can_go_on(await reload(engine, run))
    clock.now = NOW + 1800
    assert not engine.can_go_on(await reload(engine, run))
    clock.now = NOW + 1800 + 3600
    assert await engine.load(run.id) is None


async def test_a_client_flow_picks_that_flow(engine: FlowEngine, client: ClientRecord) -> None:
    assert (await start(engine, client)).flow == "default"
    one_page = client.model_copy(update={"flow": "one-page"})
    run = await start(engine, one_page)
    assert (run.flow, run.state) == ("one-page", "password")
    assert run.flows_version == engine.flows.version
    page = await engine.show(run, one_page)
    assert page is not None
    assert (page.template, page.values) == ("flow/password.html", {"login": "", "identified": False})
    assert await engine.submit(run, one_page, {"login": "ALICE", "password": PASSWORD}) is None
    assert (run.state, run.subject) == ("done", "u1")


# assurance


def event(method: str, factor: str, at: float = NOW) -> AuthEvent:
    return AuthEvent.model_validate({"method": method, "factor": factor, "at": at})


def test_one_knowledge_proof_is_loa_1() -> None:
    result = assess([event("pwd", "knowledge")])
    assert (result.amr, result.acr, result.auth_time) == (["pwd"], "urn:gatehouse:loa:1", NOW)


def test_knowledge_and_possession_is_mfa_and_loa_2() -> None:
    result = assess([event("pwd", "knowledge", NOW), event("otp", "possession", NOW + 9)])
    assert (result.amr, result.acr, result.auth_time) == (
        ["pwd", "otp", "mfa"], "urn:gatehouse:loa:2", NOW + 9
    )


def test_two_proofs_of_one_factor_class_stay_loa_1() -> None:
    result = assess([event("pwd", "knowledge"), event("pin", "knowledge"),
                     event("pwd", "knowledge")])
    assert (result.amr, result.acr) == (["pwd", "pin"], "urn:gatehouse:loa:1")


def test_three_factor_classes_cap_at_loa_2() -> None:
    result = assess([event("pwd", "knowledge"), event("hwk", "possession"),
                     event("fpt", "inherence")])
    assert (result.amr, result.acr) == (["pwd", "hwk", "fpt", "mfa"], "urn:gatehouse:loa:2")


def test_no_proof_is_an_error() -> None:
    with pytest.raises(ValueError, match="without any proof"):
        assess([])
