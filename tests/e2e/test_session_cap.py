"""Sessions per user are bounded (`max_sessions_per_user`): a new sign-in ends the oldest past
the cap, as a logout would, so that signing in again and again cannot grow them without bound."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, RunningServer, gatehouse, start_server
from tests.e2e.tokens import CALLBACK

AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid",
}))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("session-cap"), max_sessions_per_user=2)
    yield running
    running.stop()


async def test_the_oldest_session_ends_past_the_cap(server: RunningServer) -> None:
    browsers = [FormBrowser(server.issuer) for _ in range(3)]
    try:
        for web in browsers:
            target, params = redirect_params(await web.sign_in(AUTHORIZE, *ALICE))
            assert target == CALLBACK and "code" in params
        shown = gatehouse(server.config, "users", "show", ALICE[0], "--json")
        assert json.loads(shown.stdout)["sessions"] == 2, shown.stderr
        first, last = await browsers[0].open("/account"), await browsers[2].open("/account")
        assert "Username or email" in page_text(first)  # signed out: it asks again
        assert "Username or email" not in page_text(last)
    finally:
        for web in browsers:
            await web.close()
    listed = gatehouse(server.config, "audit", ALICE[0]).stdout.splitlines()
    events = [json.loads(line) for line in listed]
    assert [e["kind"] for e in events].count("sign_in") == 3
    [ended] = [e for e in events if e["kind"] == "session_ended"]
    assert ended["details"]["reason"] == "too_many_sessions"
