"""The embedded store keeps keys, users and sessions across a restart."""

from __future__ import annotations

from pathlib import Path

import httpx2

from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.server import ALICE, start_server

AUTHORIZE = {
    "client_id": "post-client", "redirect_uri": "https://post.example/cb", "response_type": "code",
    "scope": "openid",
}


async def test_keys_users_and_sessions_survive_a_restart(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    try:
        jwks_before = httpx2.get(f"{first.issuer}/jwks").json()
        browser = FormBrowser(first.issuer)
        page = await browser.open("/authorize?" + str(httpx2.QueryParams(AUTHORIZE)))
        page = await browser.submit(page, login=ALICE[0])
        assert "code" in redirect_params(await browser.submit(page, password=ALICE[1]))[1]
        session_cookie = browser.http.cookies["gh_session"]
        await browser.close()
    finally:
        first.stop()

    second = start_server(tmp_path)  # same folder: same SQLite file, a new port
    try:
        assert httpx2.get(f"{second.issuer}/jwks").json() == jwks_before
        async with httpx2.AsyncClient(base_url=second.issuer, cookies={"gh_session": session_cookie}) as http:
            answer = await http.get("/authorize", params=AUTHORIZE)
        assert "code" in redirect_params(answer)[1]  # the SSO session is still good: no pages
    finally:
        second.stop()
