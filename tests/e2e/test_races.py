"""Races over HTTP against two worker processes on one store: 50 parallel redemptions of one code
and 50 parallel uses of one refresh token each have exactly one winner, and the replays trigger
the family rule; a step submitted twice at once advances its run once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, RunningServer, start_server
from tests.e2e.tokens import CALLBACK, signed_in_tokens, userinfo_status

RACERS = 50
AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code",
    "scope": "openid offline_access", "nonce": "n-1"}))


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    workdir: Path = tmp_path_factory.mktemp("races")
    running = start_server(workdir, serve_args=("--workers", "2"))
    yield running
    running.stop()


async def race(server: RunningServer, form: dict[str, str]) -> list[httpx2.Response]:
    """`RACERS` token requests with the same form, sent at once on separate connections."""
    limits = httpx2.Limits(max_connections=RACERS)
    async with httpx2.AsyncClient(limits=limits, timeout=60) as http:
        return list(await asyncio.gather(*(
            http.post(f"{server.issuer}/token", data=form, auth=("demo-rp", CONFIDENTIAL_SECRET))
            for _ in range(RACERS))))


def outcomes(answers: list[httpx2.Response]) -> list[str]:
    return sorted("ok" if a.status_code == 200 else a.json()["error"] for a in answers)


async def test_one_code_redeemed_fifty_times_at_once_has_one_winner_and_is_revoked(
    server: RunningServer,
) -> None:
    browser = FormBrowser(server.issuer)
    try:
        code = redirect_params(await browser.sign_in(AUTHORIZE, *ALICE))[1]["code"]
    finally:
        await browser.close()
    answers = await race(server, {"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": CALLBACK})
    assert outcomes(answers) == ["invalid_grant"] * (RACERS - 1) + ["ok"]
    [won] = [a.json() for a in answers if a.status_code == 200]
    # RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for.
    assert await userinfo_status(server, won["access_token"]) == 401
    again = await race(server, {"grant_type": "refresh_token",
                                "refresh_token": won["refresh_token"]})
    assert outcomes(again) == ["invalid_grant"] * RACERS


async def test_one_refresh_token_used_fifty_times_at_once_has_one_winner_and_ends_the_family(
    server: RunningServer,
) -> None:
    browser = FormBrowser(server.issuer)
    try:
        _, first = await signed_in_tokens(server, browser, "openid offline_access")
    finally:
        await browser.close()
    answers = await race(server, {"grant_type": "refresh_token",
                                  "refresh_token": first["refresh_token"]})
    assert outcomes(answers) == ["invalid_grant"] * (RACERS - 1) + ["ok"]
    [won] = [a.json() for a in answers if a.status_code == 200]
    # The replays of a rotated refresh token revoke the whole family, the winner's tokens too.
    assert await userinfo_status(server, won["access_token"]) == 401
    after = await race(server, {"grant_type": "refresh_token",
                                "refresh_token": won["refresh_token"]})
    assert outcomes(after) == ["invalid_grant"] * RACERS


async def test_a_step_submitted_twice_at_once_advances_its_run_once(
    server: RunningServer,
) -> None:
    browser = FormBrowser(server.issuer)
    try:
        page = await browser.submit(await browser.open(AUTHORIZE), login=ALICE[0])
        answers = await asyncio.gather(*(browser.submit(page, password=ALICE[1])
                                         for _ in range(2)))
        assert all(a.status_code < 500 for a in answers), [a.status_code for a in answers]
        codes = {redirect_params(a)[1]["code"] for a in answers
                 if a.is_redirect and "code=" in a.headers["location"]}
        assert len(codes) == 1, [(a.status_code, a.headers.get("location")) for a in answers]
    finally:
        await browser.close()
