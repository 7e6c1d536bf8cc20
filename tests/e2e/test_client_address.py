"""Whose address is throttled: the connection's own, or, behind a configured load balancer
(`trusted_proxies`), the one its X-Forwarded-For names. Nobody else can choose it."""

from __future__ import annotations

from pathlib import Path

from steps.throttling import ADDRESS
from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ALICE, start_server

AUTHORIZE = ("/authorize?client_id=public-app&redirect_uri=https://spa.example/callback"
             "&response_type=code&scope=openid&code_challenge="
             "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")


async def wrong_then_right(issuer: str, forwarded_for: str) -> tuple[list[str], str]:
    """ADDRESS.max_failures wrong passwords for as many logins, then alice's right one."""
    browser = FormBrowser(issuer, headers={"X-Forwarded-For": forwarded_for})
    try:
        answers = []
        for n in range(ADDRESS.max_failures):
            page = await browser.submit(await browser.open(AUTHORIZE), login=f"guess{n}")
            answers.append(page_text(await browser.submit(page, password="wrong")))
        page = await browser.submit(await browser.open(AUTHORIZE), login=ALICE[0])
        last = await browser.submit(page, password=ALICE[1])
        return answers, "signed in" if last.is_redirect else page_text(last)
    finally:
        await browser.close()


async def test_behind_a_trusted_balancer_the_forwarded_address_is_throttled(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, trusted_proxies=["127.0.0.1"])
    try:
        answers, alice = await wrong_then_right(server.issuer, "198.51.100.1")
        assert "Too many attempts" in answers[-1] and "Too many attempts" in alice
        assert "Too many attempts" not in answers[-2]
        browser = FormBrowser(server.issuer, headers={"X-Forwarded-For": "198.51.100.2"})
        try:  # someone else behind the same balancer is not blocked
            assert (await browser.sign_in(AUTHORIZE, *ALICE)).is_redirect
        finally:
            await browser.close()
    finally:
        server.stop()


async def test_without_trusted_balancers_a_forwarded_header_changes_nothing(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path)
    try:
        browser = FormBrowser(server.issuer)
        try:
            for n in range(ADDRESS.max_failures):  # each guess claims another address
                browser.http.headers["X-Forwarded-For"] = f"203.0.113.{n}"
                page = await browser.submit(await browser.open(AUTHORIZE), login=f"guess{n}")
                answer = page_text(await browser.submit(page, password="wrong"))
            assert "Too many attempts" in answer  # all counted against the real address
        finally:
            await browser.close()
    finally:
        server.stop()
