"""Journeys begun per client network are bounded (`runs_per_minute_per_address`): past the
limit, GET /authorize answers a 429 page with Retry-After and stores nothing, while other
networks (told apart behind a trusted balancer) still begin theirs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import httpx2
import pytest

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ALICE, RunningServer, start_server
from tests.e2e.tokens import CALLBACK

AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid",
    "state": "s1",
}))
LIMIT = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("run-limits"), runs_per_minute_per_address=LIMIT,
        trusted_proxies=["127.0.0.1"],
    )
    yield running
    running.stop()


def stored_runs(server: RunningServer) -> int:
    with sqlite3.connect(server.config.parent / "gatehouse.db") as db:
        return int(db.execute("SELECT count(*) FROM flow_runs").fetchone()[0])


async def test_past_the_limit_a_network_gets_a_429_page_and_stores_nothing(
    server: RunningServer,
) -> None:
    before = stored_runs(server)
    forwarded = {"X-Forwarded-For": "198.51.100.7"}
    async with httpx2.AsyncClient(base_url=server.issuer, headers=forwarded) as http:
        for _ in range(LIMIT):
            begun = await http.get(AUTHORIZE)
            assert begun.status_code == 303 and "/flow/" in begun.headers["location"]
        refused = await http.get(AUTHORIZE)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 // LIMIT
    assert "Too many sign-ins were begun from your network" in page_text(refused)
    assert f'href="{AUTHORIZE.replace("&", "&amp;")}"' in refused.text  # "Try again"
    assert stored_runs(server) == before + LIMIT


async def test_another_network_still_signs_in(server: RunningServer) -> None:
    browser = FormBrowser(server.issuer, headers={"X-Forwarded-For": "198.51.100.8"})
    try:
        assert (await browser.sign_in(AUTHORIZE, *ALICE)).is_redirect
    finally:
        await browser.close()


async def test_an_ipv6_network_counts_as_one(server: RunningServer) -> None:
    answers = []
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        for host in range(LIMIT + 1):  # another address of the same /64 each time
            forwarded = {"X-Forwarded-For": f"2001:db8:5:6::{host + 1:x}"}
            answers.append((await http.get(AUTHORIZE, headers=forwarded)).status_code)
    assert answers == [303] * LIMIT + [429]
