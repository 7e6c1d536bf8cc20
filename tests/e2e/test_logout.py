"""RP-initiated logout, named after the conformance modules of the RP-Initiated Logout OP plan."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
from bs4 import BeautifulSoup

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, RunningServer
from tests.e2e.tokens import token_request, userinfo_status

SIGNED_OUT = "https://rp.example/signed-out"


async def sign_in(server: RunningServer, browser: FormBrowser, scope: str = "openid") -> dict[str, Any]:
    rp = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
    started = rp.authorize(scope=scope)
    return rp.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])["tokens"]


async def still_signed_in(server: RunningServer, browser: FormBrowser) -> bool:
    response = await browser.http.get("/authorize", params={
        "client_id": "demo-rp", "redirect_uri": "https://rp.example/callback", "response_type": "code",
        "scope": "openid", "prompt": "none"})
    return "code" in redirect_params(response)[1]


async def logout(browser: FormBrowser, **params: str) -> httpx2.Response:
    return await browser.http.get("/logout", params=params)


def asks_to_confirm(response: httpx2.Response) -> bool:
    return response.status_code == 200 and "Sign out of Gatehouse?" in page_text(response)


async def test_oidcc_rp_initiated_logout(server: RunningServer, browser: FormBrowser) -> None:
    tokens = await sign_in(server, browser)
    response = await logout(browser, id_token_hint=tokens["id_token"],
                            post_logout_redirect_uri=SIGNED_OUT, state="bye")
    assert redirect_params(response) == (SIGNED_OUT, {"state": "bye"})
    assert not await still_signed_in(server, browser)
    assert await userinfo_status(server, tokens["access_token"]) == 401  # online tokens end too


async def test_oidcc_rp_initiated_logout_no_state(server: RunningServer, browser: FormBrowser) -> None:
    tokens = await sign_in(server, browser)
    response = await logout(browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT)
    assert redirect_params(response) == (SIGNED_OUT, {})


async def test_oidcc_rp_initiated_logout_with_client_id_as_openid_client_builds_it(
    server: RunningServer, browser: FormBrowser
) -> None:
    tokens = await sign_in(server, browser)
    rp = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
    url = rp.call("endSessionUrl", params={"id_token_hint": tokens["id_token"],
                                           "post_logout_redirect_uri": SIGNED_OUT, "state": "s"})["url"]
    assert "client_id=demo-rp" in url
    assert redirect_params(await browser.http.get(url)) == (SIGNED_OUT, {"state": "s"})


async def test_oidcc_rp_initiated_logout_by_post(server: RunningServer, browser: FormBrowser) -> None:
    tokens = await sign_in(server, browser)
    response = await browser.http.post("/logout", data={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT})
    assert redirect_params(response)[0] == SIGNED_OUT


async def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(server: RunningServer, browser: FormBrowser) -> None:
    tokens = await sign_in(server, browser)
    for uri in ("https://evil.example/", SIGNED_OUT + "?extra=1", SIGNED_OUT + "/"):
        response = await logout(browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri=uri)
        assert response.status_code == 400 and "location" not in response.headers
        assert "The sign-out link is not valid." in page_text(response)
    assert await still_signed_in(server, browser)


async def test_oidcc_rp_initiated_logout_modified_id_token_hint(server: RunningServer, browser: FormBrowser) -> None:
    tokens = await sign_in(server, browser)
    _, payload, _ = tokens["id_token"].split(".")
    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()
    for forged in (f"{none_header}.{payload}.", tokens["id_token"][:-4] + "AAAA"):
        response = await logout(browser, id_token_hint=forged, post_logout_redirect_uri=SIGNED_OUT)
        assert asks_to_confirm(response) and "location" not in response.headers
    assert await still_signed_in(server, browser)


async def test_oidcc_rp_initiated_logout_no_id_token_hint(server: RunningServer, browser: FormBrowser) -> None:
    await sign_in(server, browser)
    response = await logout(browser, client_id="demo-rp", post_logout_redirect_uri=SIGNED_OUT, state="x")
    assert asks_to_confirm(response)
    assert await still_signed_in(server, browser)
    confirmed = await browser.submit(response)
    assert confirmed.status_code == 200 and "You are signed out" in page_text(confirmed)
    assert not await still_signed_in(server, browser)


async def test_oidcc_rp_initiated_logout_no_params(server: RunningServer, browser: FormBrowser) -> None:
    await sign_in(server, browser)
    response = await logout(browser)
    assert asks_to_confirm(response)
    assert await still_signed_in(server, browser)
    confirmed = await browser.submit(response)
    assert confirmed.status_code == 200 and "You are signed out" in page_text(confirmed)
    assert not await still_signed_in(server, browser)


async def test_a_link_from_another_site_does_not_sign_out(server: RunningServer, browser: FormBrowser) -> None:
    await sign_in(server, browser)
    cross_site = {"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/"}
    for params in ({}, {"id_token_hint": "", "post_logout_redirect_uri": "", "state": ""}):
        response = await browser.http.get("/logout", params=params, headers=cross_site)
        assert asks_to_confirm(response) and "location" not in response.headers
    response = await browser.http.post("/logout", data={"id_token_hint": ""}, headers=cross_site)
    assert asks_to_confirm(response)
    assert await still_signed_in(server, browser)


async def test_without_a_session_there_is_nothing_to_confirm(browser: FormBrowser) -> None:
    response = await logout(browser)
    assert response.status_code == 200 and "You are signed out" in page_text(response)


async def test_a_hint_from_an_earlier_session_asks_to_confirm(server: RunningServer, browser: FormBrowser) -> None:
    old = await sign_in(server, browser)
    await logout(browser, id_token_hint=old["id_token"], post_logout_redirect_uri=SIGNED_OUT)
    await sign_in(server, browser)
    response = await logout(browser, id_token_hint=old["id_token"], post_logout_redirect_uri=SIGNED_OUT)
    assert asks_to_confirm(response)


async def test_client_id_must_match_the_hint(server: RunningServer, browser: FormBrowser) -> None:
    tokens = await sign_in(server, browser)
    response = await logout(browser, id_token_hint=tokens["id_token"], client_id="other-rp",
                            post_logout_redirect_uri=SIGNED_OUT)
    assert response.status_code == 400 and "location" not in response.headers


async def test_confirmation_needs_its_csrf_token(server: RunningServer, browser: FormBrowser) -> None:
    await sign_in(server, browser)
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "guess"}):
        response = await browser.http.post("/logout/confirm", data=data)
        assert response.status_code == 400 and "This form has expired" in page_text(response)
    assert await still_signed_in(server, browser)


async def test_a_confirmation_token_holds_for_its_own_session_only(
    server: RunningServer, browser: FormBrowser
) -> None:
    """An attacker's own confirmation page (from their session) cannot sign someone else out."""
    attacker = FormBrowser(server.issuer)
    try:
        await sign_in(server, attacker)
        form = await logout(attacker)
        assert asks_to_confirm(form)
        await sign_in(server, browser)
        token = BeautifulSoup(form.text, "html.parser").find("input", attrs={"name": "csrf_token"})
        assert token is not None and token["value"]
        response = await browser.http.post("/logout/confirm", data={"csrf_token": token["value"]})
        assert response.status_code == 400
        assert await still_signed_in(server, browser) and await still_signed_in(server, attacker)
    finally:
        await attacker.close()


async def test_offline_access_outlives_the_session(server: RunningServer, browser: FormBrowser) -> None:
    tokens = await sign_in(server, browser, scope="openid offline_access")
    await logout(browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT)
    refreshed = await token_request(server, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200


async def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(
    server: RunningServer, browser: FormBrowser
) -> None:
    tokens = await sign_in(server, browser)
    response = await logout(browser, id_token_hint=tokens["id_token"], state="s")
    assert response.status_code == 200 and "You are signed out" in page_text(response)
    assert not await still_signed_in(server, browser)


async def test_oidcc_rp_initiated_logout_only_state(server: RunningServer, browser: FormBrowser) -> None:
    await sign_in(server, browser)
    response = await logout(browser, state="only")
    assert asks_to_confirm(response) and "location" not in response.headers
