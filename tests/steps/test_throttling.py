"""Wrong passwords are throttled per account from an address, per account from everywhere (except
for a browser that has signed in to it) and per address, in the store, with a page that says how
long to wait; a guess is counted before it is checked; nobody is locked out for good, and a reset
or an operator lifts a block. Driven with FlowTester."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bs4 import BeautifulSoup

from engine.testing import FlowTester
from steps.base import BrowserFacts, Page
from steps.password import WRONG
from steps.throttling import (
    ACCOUNT,
    ACCOUNT_AT_ADDRESS,
    ADDRESS,
    MAX_LOCKOUT,
    QUIET,
    THROTTLED,
    Throttle,
    login_key,
    unlock,
)
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


PAIR = ACCOUNT_AT_ADDRESS.max_failures


async def test_five_wrong_passwords_block_the_account_from_that_address_for_a_minute(
    tester: FlowTester,
) -> None:
    for _ in range(PAIR - 1):
        assert error(await attempt(tester, "wrong")) == WRONG
    blocked = await attempt(tester, "wrong")
    assert error(blocked) == THROTTLED and blocked is not None
    assert blocked.values["retry_in"] == 60
    assert error(await attempt(tester, PASSWORD)) == THROTTLED  # not even checked
    tester.advance_clock(60)
    assert await attempt(tester, PASSWORD) is None and tester.result == "done"
    for key in ("password:account_ip:192.0.2.7:login:alice", "password:account:login:alice"):
        assert await tester.store.throttles.get(key, NOW + 60) is None  # cleared by the right one


async def test_a_guesser_elsewhere_does_not_block_the_owner_at_another_address(
    tester: FlowTester,
) -> None:
    for _ in range(PAIR):
        await attempt(tester, "wrong")
    tester.browser = BrowserFacts(client_address="203.0.113.5")
    assert await attempt(tester, PASSWORD) is None and tester.result == "done"


async def test_many_addresses_block_the_account_but_not_a_browser_that_signed_in_to_it(
    tester: FlowTester,
) -> None:
    answers = []
    for n in range(ACCOUNT.max_failures):
        tester.browser = BrowserFacts(client_address=f"198.51.100.{n}")
        answers.append(error(await attempt(tester, "wrong")))
    assert answers == [WRONG] * (ACCOUNT.max_failures - 1) + [THROTTLED]
    tester.browser = BrowserFacts(client_address="203.0.113.5")
    assert error(await attempt(tester, PASSWORD)) == THROTTLED  # a new browser waits
    alice = await tester.store.users.find_by_login("alice")
    assert alice is not None
    for facts in (BrowserFacts(client_address="203.0.113.6", signed_in=alice.id),
                  BrowserFacts({alice.id: NOW - 86400}, client_address="203.0.113.7")):
        tester.browser = facts  # a live session here, or a browser she chose to remember
        assert await attempt(tester, PASSWORD) is None and tester.result == "done"


async def test_a_reset_or_an_operator_lifts_every_block_of_the_account(tester: FlowTester) -> None:
    alice = await tester.store.users.find_by_login("alice")
    assert alice is not None
    for n in range(ACCOUNT.max_failures):
        tester.browser = BrowserFacts(client_address=f"198.51.100.{n}")
        await attempt(tester, "wrong")
    assert error(await attempt(tester, PASSWORD)) == THROTTLED
    assert await unlock(tester.store, alice.id) == ACCOUNT.max_failures + 1  # every address's too
    assert await attempt(tester, PASSWORD) is None and tester.result == "done"


async def test_guesses_sent_at_once_are_counted_before_any_is_checked(tester: FlowTester) -> None:
    checked = []

    async def wrong() -> bool:
        checked.append(1)
        await asyncio.sleep(0.01)  # as a hash takes a while: the others arrive meanwhile
        return False

    throttle = Throttle(tester.store, "password", login_key("alice"), "192.0.2.7")
    guesses = await asyncio.gather(*(throttle.guess(NOW, wrong) for _ in range(40)))
    assert len(checked) == PAIR
    assert sum(1 for g in guesses if g.wait) == 40 - PAIR + 1  # the last checked one blocks too


async def test_right_guesses_sent_at_once_all_go_through(tester: FlowTester) -> None:
    """More right answers at once than the limit has places: those that find none wait for the
    ones ahead, which give their places back."""

    async def right() -> bool:
        await asyncio.sleep(0.01)
        return True

    throttle = Throttle(tester.store, "password", login_key("alice"), "192.0.2.7")
    guesses = await asyncio.gather(*(throttle.guess(NOW, right) for _ in range(3 * PAIR)))
    assert all(g.right for g in guesses)
    for key, _ in throttle.keys:
        assert await tester.store.throttles.get(key, NOW) is None  # nothing left behind


async def test_the_page_says_how_long_to_wait(tester: FlowTester) -> None:
    for _ in range(PAIR):
        page = await attempt(tester, "wrong")
    assert page is not None
    alert = BeautifulSoup(render_step_page(page), "html.parser").find(id="password-error")
    assert alert is not None
    assert alert.get_text() == "Too many attempts. Try again in 60 seconds."


async def test_lockouts_in_a_row_double_up_to_a_cap_and_always_end(tester: FlowTester) -> None:
    waits = []
    for _ in range(6):
        for _ in range(PAIR):
            page = await attempt(tester, "wrong")
        assert page is not None and error(page) == THROTTLED
        waits.append(page.values["retry_in"])
        tester.advance_clock(page.values["retry_in"])
    assert waits == [60, 120, 240, 480, MAX_LOCKOUT, MAX_LOCKOUT]
    assert await attempt(tester, PASSWORD) is None and tester.result == "done"


async def test_an_unknown_login_is_throttled_exactly_like_an_account(tester: FlowTester) -> None:
    known = [error(await attempt(tester, "wrong")) for _ in range(PAIR)]
    tester.browser = BrowserFacts(client_address="198.51.100.9")
    unknown = [error(await attempt(tester, "wrong", login="nobody")) for _ in range(PAIR)]
    assert known == unknown == [WRONG] * (PAIR - 1) + [THROTTLED]


async def test_a_blocked_username_says_nothing_of_its_email_address(tester: FlowTester) -> None:
    """The pattern is the same for an account and for logins nobody has: the block holds the
    login as typed, never another login of the same account."""
    for username, email in (("alice", "alice@example.com"), ("ghost", "ghost@example.com")):
        for _ in range(PAIR):
            await attempt(tester, "wrong", login=username)
        assert error(await attempt(tester, "wrong", login=username)) == THROTTLED
        assert error(await attempt(tester, "wrong", login=email)) == WRONG, email


async def test_one_address_guessing_many_accounts_is_blocked(tester: FlowTester) -> None:
    answers = [error(await attempt(tester, "wrong", login=f"user{n}"))
               for n in range(ADDRESS.max_failures)]
    assert answers == [WRONG] * (ADDRESS.max_failures - 1) + [THROTTLED]
    assert error(await attempt(tester, PASSWORD)) == THROTTLED  # alice too, from this address
    tester.browser = BrowserFacts(client_address="203.0.113.5")
    assert await attempt(tester, PASSWORD) is None  # but not from hers


async def test_concurrent_failures_are_each_counted_once(tester: FlowTester) -> None:
    throttle = Throttle(tester.store, "password", "target", None)

    async def wrong() -> bool:
        return False

    await asyncio.gather(*(throttle.guess(NOW, wrong) for _ in range(20)))
    record = await tester.store.throttles.get("password:account:target", NOW)
    assert record is not None
    assert record.lockouts * ACCOUNT.max_failures + record.failures == 20


async def test_failures_far_apart_are_forgotten(tester: FlowTester) -> None:
    for _ in range(3):
        for _ in range(PAIR - 1):
            assert error(await attempt(tester, "wrong")) == WRONG
        tester.advance_clock(QUIET)
    assert await attempt(tester, PASSWORD) is None and tester.result == "done"


async def test_wrong_guesses_and_lockouts_are_audit_events(tester: FlowTester) -> None:
    for _ in range(PAIR):
        await attempt(tester, "wrong")
    await attempt(tester, "wrong", login="nobody")
    alice = await tester.store.users.find_by_login("alice")
    assert alice is not None
    events = await tester.store.audit.for_subject(alice.id, NOW)
    kinds = [e.kind for e in reversed(events)]
    assert kinds == ["sign_in_failed"] * PAIR + ["throttled"]
    assert events[0].details == {"guess": "password", "scope": "account_ip", "lockout": 1,
                                 "seconds": 60.0}
    assert {e.address for e in events} == {"192.0.2.7"}
