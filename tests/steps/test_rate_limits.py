"""Hourly limits on code mails and sign-ups (steps/rate_limits.py), counted in the store before
the costly work, and the same pages whether or not a mail went out where they must not tell."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core import network_of
from engine.testing import FlowTester
from steps.base import BrowserFacts, Page
from steps.rate_limits import TOO_MANY_CODES, TOO_MANY_SIGN_UPS, WINDOW, RateLimit, take
from store import open_store

NOW = 1_700_000_000.0
PASSWORD = "correct horse battery staple"
FLOWS = """\
default_flow: signin
registration_flow: signup
flows:
  signin:
    steps:
      identify:
        type: identify
        on: {success: password}
      password:
        type: password
        on: {success: verify, forgot: reset}
      verify:
        type: verify_email
        options: {resend_interval: 0}
        on: {success: done, no_email: done}
      reset:
        type: reset_password
        on: {success: password, cancel: password}
  signup:
    steps:
      register:
        type: register
        options: {sign_ups_per_client_address: 3, verify_email: false}
        on: {success: done}
"""


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(FLOWS, now=NOW) as flow_tester:
        flow_tester.browser = BrowserFacts(client_address="203.0.113.9")
        yield flow_tester


async def test_parallel_counts_never_pass_the_limit() -> None:
    store = await open_store("sqlite://:memory:")
    try:
        limit = RateLimit("test", "email", 5)
        taken = await asyncio.gather(*(take(store, NOW, limit, "a@example.com") for _ in range(30)))
        assert taken.count(True) == 5
        assert not await take(store, NOW + WINDOW - 1, limit, "a@example.com")
        assert await take(store, NOW, limit, "b@example.com")  # another key counts apart
        assert await take(store, NOW + WINDOW, limit, "a@example.com")  # a new hour
    finally:
        await store.close()


def test_an_ipv6_network_counts_as_one_address() -> None:
    assert network_of("2001:db8:1:2::5") == network_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert network_of("2001:db8:1:3::5") != network_of("2001:db8:1:2::5")
    assert network_of("203.0.113.9") == "203.0.113.9"
    assert network_of("not an address") == "not an address"


async def reset_request(tester: FlowTester, email: str) -> Page:
    """A new run that asks for a reset code for `email`: page 2."""
    await tester.start()
    await tester.submit(login="someone")
    await tester.choose("forgot")
    page = await tester.submit(email=email)
    assert page is not None and page.template == "flow/reset_password.html" and not page.errors
    return page


async def test_reset_codes_mailed_to_one_address_stop_at_the_limit(tester: FlowTester) -> None:
    await tester.add_user("alice", PASSWORD, email="alice@example.com")
    pages = [await reset_request(tester, "Alice@Example.com") for _ in range(6)]
    assert len(tester.mail) == 5  # mails_per_address: 5 an hour
    assert all(p.values == pages[0].values and p.errors == {} for p in pages)  # the same page
    tester.advance_clock(WINDOW)
    await reset_request(tester, "alice@example.com")
    assert len(tester.mail) == 6


async def test_unknown_addresses_count_too_so_a_limit_tells_nothing(tester: FlowTester) -> None:
    await tester.add_user("alice", PASSWORD, email="alice@example.com")
    for n in range(20):  # mails_per_client_address: 20 an hour, known address or not
        await reset_request(tester, f"nobody{n}@example.com")
    await reset_request(tester, "alice@example.com")
    assert tester.mail == []
    tester.browser = BrowserFacts(client_address="198.51.100.1")  # another client address
    await reset_request(tester, "alice@example.com")
    assert len(tester.mail) == 1


async def test_verify_email_says_when_the_limit_is_reached(tester: FlowTester) -> None:
    await tester.add_user("bob", PASSWORD, email="bob@example.com")
    await tester.start()
    await tester.submit(login="bob")
    await tester.submit(password=PASSWORD)
    for _ in range(4):
        page = await tester.submit(resend="1")
        assert page is not None and page.errors == {}
    page = await tester.submit(resend="1")
    assert page is not None and page.errors == {"page": TOO_MANY_CODES}
    assert len(tester.mail) == 5


async def test_sign_ups_over_the_limit_are_refused_before_hashing(
    tester: FlowTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[str] = []
    original = tester.passwords.hash

    async def counting(password: str) -> str:
        hashed.append(password)
        return await original(password)

    monkeypatch.setattr(tester.passwords, "hash", counting)
    for n in range(4):
        await tester.start(prompt=["create"])
        page = await tester.submit(username=f"user{n}", email=f"user{n}@example.com",
                                   password=PASSWORD, password_confirm=PASSWORD)
        if n < 3:
            assert tester.result == "done"
    assert page is not None and page.errors == {"page": TOO_MANY_SIGN_UPS}
    assert len(hashed) == 3
    assert await tester.store.users.find_by_login("user3") is None
