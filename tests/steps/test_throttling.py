"""Wrong passwords are throttled per account and per address, in the store, with a page that says
how long to wait; nobody is locked out for good. Driven with FlowTester."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bs4 import BeautifulSoup

from engine.testing import FlowTester
from steps.base import BrowserFacts, Page
from steps.password import WRONG
from steps.throttling import ACCOUNT, ADDRESS, MAX_LOCKOUT, QUIET, THROTTLED, Throttle
from tests.steps.pages import render_step_page

NOW = 1_700_000_000.0
PASSWORD = "a long passphrase"
FLOWS = """\
flows:
  default:
    steps:
      password: {type: password, on: {success: done}}
"""


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(FLOWS, now=NOW) as flow_tester:
        flow_tester.browser = BrowserFacts(client_address="192.0.2.7")
        await flow_tester.add_user("alice", PASSWORD)
        yield flow_tester


async def attempt(tester: FlowTester, password: str, login: str = "alice") -> Page | None:
    await tester.start()
    return await tester.submit(login=login, password=password)


def error(page: Page | None) -> str:
    assert page is not None
    return page.errors["password"]


async def test_five_wrong_passwords_block_the_account_for_a_minute_even_for_the_right_one(
    tester: FlowTester,
) -> None:
    for _ in range(ACCOUNT.max_failures - 1):
        assert error(await attempt(tester, "wrong")) == WRONG
    blocked = await attempt(tester, "wrong")
    assert error(blocked) == THROTTLED and blocked is not None
    assert blocked.values["retry_in"] == 60
    assert error(await attempt(tester, PASSWORD)) == THROTTLED  # not even checked
    tester.advance_clock(60)
    assert await attempt(tester, PASSWORD) is None and tester.result == "done"
    assert await tester.store.throttles.get("password:account:" + tester.subject, NOW + 60) is None


async def test_the_page_says_how_long_to_wait(tester: FlowTester) -> None:
    for _ in range(ACCOUNT.max_failures):
        page = await attempt(tester, "wrong")
    assert page is not None
    alert = BeautifulSoup(render_step_page(page), "html.parser").find(id="password-error")
    assert alert is not None
    assert alert.get_text() == "Too many attempts. Try again in 60 seconds."


async def test_lockouts_in_a_row_double_up_to_a_cap_and_always_end(tester: FlowTester) -> None:
    waits = []
    for _ in range(6):
        for _ in range(ACCOUNT.max_failures):
            page = await attempt(tester, "wrong")
        assert page is not None and error(page) == THROTTLED
        waits.append(page.values["retry_in"])
        tester.advance_clock(page.values["retry_in"])
    assert waits == [60, 120, 240, 480, MAX_LOCKOUT, MAX_LOCKOUT]
    assert await attempt(tester, PASSWORD) is None and tester.result == "done"


async def test_an_unknown_login_is_throttled_exactly_like_an_account(tester: FlowTester) -> None:
    known = [error(await attempt(tester, "wrong")) for _ in range(ACCOUNT.max_failures)]
    tester.browser = BrowserFacts(client_address="198.51.100.9")
    unknown = [error(await attempt(tester, "wrong", login="nobody"))
               for _ in range(ACCOUNT.max_failures)]
    assert known == unknown == [WRONG] * (ACCOUNT.max_failures - 1) + [THROTTLED]


async def test_one_address_guessing_many_accounts_is_blocked(tester: FlowTester) -> None:
    answers = [error(await attempt(tester, "wrong", login=f"user{n}"))
               for n in range(ADDRESS.max_failures)]
    assert answers == [WRONG] * (ADDRESS.max_failures - 1) + [THROTTLED]
    assert error(await attempt(tester, PASSWORD)) == THROTTLED  # alice too, from this address
    tester.browser = BrowserFacts(client_address="203.0.113.5")
    assert await attempt(tester, PASSWORD) is None  # but not from hers


async def test_concurrent_failures_are_each_counted_once(tester: FlowTester) -> None:
    throttle = Throttle(tester.store, "password", "target", None)
    await asyncio.gather(*(throttle.failed(NOW) for _ in range(20)))
    record = await tester.store.throttles.get("password:account:target", NOW)
    assert record is not None
    assert record.lockouts * ACCOUNT.max_failures + record.failures == 20


async def test_failures_far_apart_are_forgotten(tester: FlowTester) -> None:
    for _ in range(3):
        for _ in range(ACCOUNT.max_failures - 1):
            assert error(await attempt(tester, "wrong")) == WRONG
        tester.advance_clock(QUIET)
    assert await attempt(tester, PASSWORD) is None and tester.result == "done"


async def test_wrong_guesses_and_lockouts_are_audit_events(tester: FlowTester) -> None:
    for _ in range(ACCOUNT.max_failures):
        await attempt(tester, "wrong")
    await attempt(tester, "wrong", login="nobody")
    alice = await tester.store.users.find_by_login("alice")
    assert alice is not None
    events = await tester.store.audit.for_subject(alice.id, NOW)
    kinds = [e.kind for e in reversed(events)]
    assert kinds == ["sign_in_failed"] * ACCOUNT.max_failures + ["throttled"]
    assert events[0].details == {"guess": "password", "scope": "account", "lockout": 1,
                                 "seconds": 60.0}
    assert {e.address for e in events} == {"192.0.2.7"}
