"""Wrong passwords over HTTP: guesses sent at once on two workers are counted before any is
checked, failures from other places never lock out a browser that has signed in to the account,
an operator lifts a block, and a block holds the login as typed (it says nothing of which
username and address belong together)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from steps.throttling import ACCOUNT, ACCOUNT_AT_ADDRESS
from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ALICE, RunningServer, gatehouse, server_store, start_server

AUTHORIZE = ("/authorize?client_id=public-app&redirect_uri=https://spa.example/callback"
             "&response_type=code&scope=openid&code_challenge="
             "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
WRONG = "Incorrect username or password."
BLOCKED = "Too many attempts."


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[RunningServer]:
    server = start_server(tmp_path, serve_args=("--workers", "2"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def balanced(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """Behind a trusted load balancer, so each browser can come from an address of its own."""
    server = start_server(tmp_path, trusted_proxies=["127.0.0.1"])
    try:
        yield server
    finally:
        server.stop()


async def password_pages(
    server: RunningServer, count: int, login: str = ALICE[0]
) -> list[tuple[FormBrowser, httpx2.Response]]:
    """`count` browsers, each with its own run waiting at the password page for `login`."""
    browsers = []
    for _ in range(count):
        browser = FormBrowser(server.issuer)
        browsers.append((browser, await browser.submit(await browser.open(AUTHORIZE), login=login)))
    return browsers


async def checked_guesses(server: RunningServer) -> int:
    """How many of alice's passwords were checked and wrong (one audit event each)."""
    async with server_store(server) as store:
        alice = await store.users.find_by_login(ALICE[0])
        assert alice is not None
        events = await store.audit.for_subject(alice.id, time.time() + 60)
    return sum(1 for e in events if e.kind == "sign_in_failed")


async def at_once(pages: list[tuple[FormBrowser, httpx2.Response]], passwords: list[str]) -> list[str]:
    try:
        answers = await asyncio.gather(*(
            browser.submit(page, password=password)
            for (browser, page), password in zip(pages, passwords, strict=True)
        ))
        return ["signed in" if a.is_redirect else page_text(a) for a in answers]
    finally:
        for browser, _ in pages:
            await browser.close()


async def test_fifty_wrong_passwords_at_once_on_two_workers_check_at_most_five(
    workers: RunningServer,
) -> None:
    answers = await at_once(await password_pages(workers, 50), ["wrong"] * 50)
    checked = await checked_guesses(workers)
    assert 1 <= checked <= ACCOUNT_AT_ADDRESS.max_failures, checked
    assert sum(WRONG in a for a in answers) + sum(BLOCKED in a for a in answers) == 50
    assert sum(BLOCKED in a for a in answers) >= 50 - ACCOUNT_AT_ADDRESS.max_failures


async def test_the_right_password_among_nineteen_wrong_ones_starts_one_fresh_count_at_most(
    workers: RunningServer,
) -> None:
    """A right answer clears the account's counts, so the wrong guesses checked are those that
    held a place beside it (at most max_failures - 1) and one fresh count after it; the other
    guesses are blocked unchecked."""
    passwords = ["wrong"] * 19 + [ALICE[1]]
    answers = await at_once(await password_pages(workers, 20), passwords)
    signed_in = answers.count("signed in")
    assert signed_in <= 1
    bound = ACCOUNT_AT_ADDRESS.max_failures - 1 + ACCOUNT_AT_ADDRESS.max_failures * signed_in
    assert await checked_guesses(workers) <= max(bound, ACCOUNT_AT_ADDRESS.max_failures)
    assert sum(BLOCKED in a for a in answers) >= 20 - 2 * ACCOUNT_AT_ADDRESS.max_failures


async def guess_from_many_places(server: RunningServer, first: int) -> list[str]:
    """One wrong password for alice from each of ACCOUNT.max_failures addresses."""
    answers = []
    for n in range(first, first + ACCOUNT.max_failures):
        browser = FormBrowser(server.issuer, headers={"X-Forwarded-For": f"198.51.100.{n}"})
        try:
            page = await browser.submit(await browser.open(AUTHORIZE), login=ALICE[0])
            answers.append(page_text(await browser.submit(page, password="wrong")))
        finally:
            await browser.close()
    return answers


async def test_failures_from_elsewhere_do_not_lock_out_a_browser_signed_in_to_the_account(
    balanced: RunningServer,
) -> None:
    owner = FormBrowser(balanced.issuer, headers={"X-Forwarded-For": "203.0.113.1"})
    stranger = FormBrowser(balanced.issuer, headers={"X-Forwarded-For": "203.0.113.2"})
    try:
        assert (await owner.sign_in(AUTHORIZE, *ALICE)).is_redirect
        answers = await guess_from_many_places(balanced, 0)
        assert answers[-1].count(BLOCKED) and not any(BLOCKED in a for a in answers[:-1])
        blocked = await stranger.sign_in(AUTHORIZE, *ALICE)
        assert BLOCKED in page_text(blocked)  # a browser that never signed in waits
        again = await owner.open(AUTHORIZE + "&prompt=login")  # asks for the password again
        again = await owner.submit(again, login=ALICE[0])
        assert (await owner.submit(again, password=ALICE[1])).is_redirect
    finally:
        await owner.close()
        await stranger.close()


async def test_an_operator_lifts_the_block_of_an_account(balanced: RunningServer) -> None:
    await guess_from_many_places(balanced, 100)
    browser = FormBrowser(balanced.issuer, headers={"X-Forwarded-For": "203.0.113.9"})
    try:
        assert BLOCKED in page_text(await browser.sign_in(AUTHORIZE, *ALICE))
        unlocked = gatehouse(balanced.config, "users", "unlock", "alice@example.com")
        assert unlocked.returncode == 0, unlocked.stderr
        assert unlocked.stdout.startswith("alice: sign-in blocks and counts cleared")
        assert (await browser.sign_in(AUTHORIZE, *ALICE)).is_redirect
    finally:
        await browser.close()
    assert gatehouse(balanced.config, "users", "unlock", "nobody").returncode == 1


@pytest.mark.parametrize("login", ["alice", "ghost"])
async def test_a_blocked_login_says_nothing_of_the_address_of_its_account(
    balanced: RunningServer, login: str
) -> None:
    browser = FormBrowser(balanced.issuer, headers={"X-Forwarded-For": "192.0.2.50"})
    try:
        answers = []
        for typed in [login] * (ACCOUNT_AT_ADDRESS.max_failures + 1) + [f"{login}@example.com"]:
            page = await browser.submit(await browser.open(AUTHORIZE), login=typed)
            answers.append(page_text(await browser.submit(page, password="wrong")))
        assert BLOCKED in answers[-2]  # the login as typed is blocked
        assert WRONG in answers[-1] and BLOCKED not in answers[-1]  # its address is not
    finally:
        await browser.close()
