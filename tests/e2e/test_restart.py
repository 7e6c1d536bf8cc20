"""The embedded store keeps keys, users and sessions across a restart."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx2
from bs4 import BeautifulSoup

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, ROOT, start_server

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


async def test_a_run_from_before_a_restart_with_new_flows_offers_to_start_again(tmp_path: Path) -> None:
    flows = tmp_path / "flows.yaml"
    flows.write_text((ROOT / "flows.yaml").read_text())
    params = {**AUTHORIZE, "state": "keep-me", "nonce": "n-7"}
    first = start_server(tmp_path, flows_file=flows)
    try:
        browser = FormBrowser(first.issuer)
        page = await browser.open("/authorize?" + str(httpx2.QueryParams(params)))
        run_path = urlsplit(str(page.url)).path
        binding = browser.http.cookies["gh_browser"]
        await browser.close()
    finally:
        first.stop()
    flows.write_text(flows.read_text().replace("default_flow: default", "default_flow: sign-in"))
    second = start_server(tmp_path, flows_file=flows)
    browser = FormBrowser(second.issuer)
    browser.http.cookies.set("gh_browser", binding)
    try:
        stale = await browser.open(run_path)
        assert stale.status_code == 410 and "Start again" in page_text(stale)
        again = BeautifulSoup(stale.text, "html.parser").find("a", string="Start again")
        assert again is not None and str(again["href"]).startswith("/authorize?")
        page = await browser.open(str(again["href"]))
        page = await browser.submit(page, login=ALICE[0])
        target, answer = redirect_params(await browser.submit(page, password=ALICE[1]))
        assert (target, answer["state"]) == ("https://post.example/cb", "keep-me") and "code" in answer
    finally:
        await browser.close()
        second.stop()
