"""Malformed and hostile requests get designed errors (never a 500), and nothing is redirected or
issued that should not be. Each test pins a problem found by review."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import httpx2
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import (
    ALICE,
    CONFIDENTIAL_SECRET,
    OTHER_SECRET,
    RunningServer,
    client_settings,
    start_server,
)
from tests.e2e.tokens import CALLBACK, signed_in_tokens

AUTHORIZE = {"client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid"}
CRIT_TOKEN = ".".join(
    base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
    for part in ({"alg": "RS256", "kid": "k", "crit": [1]}, {})
) + ".AAAA"


async def test_a_run_cannot_deliver_a_code_to_a_redirect_uri_removed_meanwhile(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    browser = FormBrowser(first.issuer)
    try:
        page = await browser.open("/authorize?" + str(httpx2.QueryParams(AUTHORIZE)))
        password_page = await browser.submit(page, login=ALICE[0])
        flow_path = httpx2.URL(str(password_page.url)).path
    finally:
        first.stop()
    clients = client_settings("http://unused")
    clients[0]["redirect_uris"] = ["https://rp.example/elsewhere"]
    second = start_server(tmp_path, clients=clients, demo=False)
    try:
        again = FormBrowser(second.issuer)
        again.http.cookies = browser.http.cookies
        page = await again.open(flow_path)
        answer = await again.submit(page, password=ALICE[1])
        assert answer.status_code == 400 and "location" not in answer.headers
        assert "Invalid redirect URI" in page_text(answer)
        await again.close()
    finally:
        await browser.close()
        second.stop()


async def post_form(server: RunningServer, path: str, body: bytes, auth: tuple[str, str] | None = None,
                    headers: dict[str, str] | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{server.issuer}{path}", content=body, auth=auth, headers={
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
async def test_repeated_odd_parameter_names_are_invalid_request(server: RunningServer, path: str) -> None:
    response = await post_form(server, path, b"grant_type=refresh_token&x%22=1&x%22=2&%C3%A9=1&%C3%A9=2")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_odd_authorize_values_are_redirected_errors(browser: FormBrowser) -> None:
    for extra in ({"prompt": "é"}, {"max_age": "²"}, {"max_age": "１"},
                  {"response_type": 'to"ken\\\u202e'},
                  {"code_challenge": "a" * 43 + "\n", "code_challenge_method": "S256"}):
        response = await browser.http.get("/authorize", params={**AUTHORIZE, **extra})
        params = redirect_params(response)[1]
        assert params["error"] in ("invalid_request", "unsupported_response_type"), extra
        assert all(c not in params.get("error_description", "") for c in '"\\\u202e'), params
    repeated = await browser.http.get("/authorize?" + str(httpx2.QueryParams(AUTHORIZE)) + "&%C3%A9=1&%C3%A9=2")
    assert redirect_params(repeated)[1]["error"] == "invalid_request"


async def test_odd_csrf_tokens_get_the_expired_form_page(server: RunningServer, browser: FormBrowser) -> None:
    page = await browser.open("/authorize?" + str(httpx2.QueryParams(AUTHORIZE)))
    for token in ("é", "\ufffd"):
        response = await browser.http.post(str(page.url), data={"csrf_token": token, "login": "x"})
        assert response.status_code == 400 and "This form has expired" in page_text(response)
    confirm = await browser.http.post("/logout/confirm", data={"csrf_token": "é"})
    assert confirm.status_code == 400


async def test_a_non_ascii_code_verifier_is_invalid_grant_and_keeps_the_code(
    server: RunningServer, browser: FormBrowser
) -> None:
    verifier = secrets.token_urlsafe(48)
    url = "/authorize?" + str(httpx2.QueryParams({
        **AUTHORIZE, "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}))
    code = redirect_params(await browser.sign_in(url, *ALICE))[1]["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    async with httpx2.AsyncClient() as http:
        bad = await http.post(f"{server.issuer}/token", data={**form, "code_verifier": "é" * 43},
                              auth=("demo-rp", CONFIDENTIAL_SECRET))
        good = await http.post(f"{server.issuer}/token", data={**form, "code_verifier": verifier},
                               auth=("demo-rp", CONFIDENTIAL_SECRET))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    assert good.status_code == 200


async def test_a_non_ascii_basic_header_is_invalid_client(server: RunningServer) -> None:
    response = await post_form(server, "/token", b"grant_type=client_credentials",
                               headers={"Authorization": b"Basic \xe9\xe9"})  # type: ignore[dict-item]
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_a_jwt_with_a_bad_crit_header_is_rejected_everywhere(server: RunningServer, browser: FormBrowser) -> None:
    async with httpx2.AsyncClient() as http:
        userinfo = await http.get(f"{server.issuer}/userinfo", headers={"Authorization": f"Bearer {CRIT_TOKEN}"})
        introspect = await http.post(f"{server.issuer}/introspect", data={"token": CRIT_TOKEN},
                                     auth=("demo-rp", CONFIDENTIAL_SECRET))
        revoke = await http.post(f"{server.issuer}/revoke", data={"token": CRIT_TOKEN},
                                 auth=("demo-rp", CONFIDENTIAL_SECRET))
    assert userinfo.status_code == 401 and introspect.json() == {"active": False}
    assert revoke.status_code == 200
    hinted = await browser.http.get("/authorize", params={**AUTHORIZE, "id_token_hint": CRIT_TOKEN})
    assert redirect_params(hinted)[1]["error"] == "invalid_request"


async def test_another_client_cannot_burn_a_code(server: RunningServer, browser: FormBrowser) -> None:
    code = redirect_params(await browser.sign_in("/authorize?" + str(httpx2.QueryParams(AUTHORIZE)), *ALICE))[1]["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    async with httpx2.AsyncClient() as http:
        stolen = await http.post(f"{server.issuer}/token", data=form, auth=("other-rp", OTHER_SECRET))
        mine = await http.post(f"{server.issuer}/token", data=form, auth=("demo-rp", CONFIDENTIAL_SECRET))
    assert stolen.json()["error"] == "invalid_grant" and mine.status_code == 200


async def test_a_registered_query_is_kept_byte_for_byte(server: RunningServer, browser: FormBrowser) -> None:
    registered = "https://q.example/cb?x&y=%20&z=%E9"
    verifier = secrets.token_urlsafe(48)
    response = await browser.http.get("/authorize", params={
        "client_id": "query-app", "redirect_uri": registered, "response_type": "code",
        "scope": "openid", "prompt": "none", "state": "s",
        "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"})
    assert response.headers["location"].startswith(registered + "&error=login_required")


async def test_select_account_shows_the_pages_again(server: RunningServer, browser: FormBrowser) -> None:
    await signed_in_tokens(server, browser, "openid")
    page = await browser.open("/authorize?" + str(httpx2.QueryParams({**AUTHORIZE, "prompt": "select_account"})))
    assert page.status_code == 200 and 'name="login"' in page.text


async def test_userinfo_statuses(server: RunningServer, browser: FormBrowser) -> None:
    _, tokens = await signed_in_tokens(server, browser, "openid offline_access")
    async with httpx2.AsyncClient() as http:
        basic = await http.get(f"{server.issuer}/userinfo", headers={"Authorization": "Basic abc"})
        narrowed = (await http.post(f"{server.issuer}/token", auth=("demo-rp", CONFIDENTIAL_SECRET), data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "scope": "offline_access"})).json()
        no_openid = await http.get(f"{server.issuer}/userinfo",
                                   headers={"Authorization": f"Bearer {narrowed['access_token']}"})
    assert basic.status_code == 401 and "error=" not in basic.headers["www-authenticate"]
    assert "id_token" not in narrowed  # no openid in the narrowed scope, no ID token
    assert no_openid.status_code == 403 and 'error="insufficient_scope"' in no_openid.headers["www-authenticate"]


async def test_token_endpoint_errors_are_json(server: RunningServer) -> None:
    missing = await post_form(server, "/token", b"code=x", auth=("demo-rp", CONFIDENTIAL_SECRET))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    huge = await post_form(server, "/token", b"grant_type=x&pad=" + b"a" * 70_000,
                           auth=("demo-rp", CONFIDENTIAL_SECRET))
    assert huge.status_code == 400 and huge.json()["error"] == "invalid_request"
