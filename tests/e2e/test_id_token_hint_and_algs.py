"""id_token_hint (OIDC Core §3.1.2.1) and per-client ID token signing algorithms."""

from __future__ import annotations

import base64
import json

import httpx2

from tests.e2e.browser import FormBrowser, response_params, response_url, with_mode
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, BOB, CONFIDENTIAL_SECRET, RunningServer
from tests.e2e.tokens import unverified_claims


def demo_rp(server: RunningServer) -> OpenIdClient:
    return OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)


async def id_token_of(server: RunningServer, who: tuple[str, str]) -> str:
    browser = FormBrowser(server.issuer)
    try:
        rp = demo_rp(server)
        started = rp.authorize()
        answer = await browser.sign_in(started["url"], *who)
        return str(rp.callback(started, answer.headers["location"])["tokens"]["id_token"])
    finally:
        await browser.close()


async def test_oidcc_id_token_hint_with_prompt_none_for_the_signed_in_user(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    """oidcc-id-token-hint and oidcc-prompt-none-logged-in."""
    rp = demo_rp(server)
    started = rp.authorize(**with_mode(mode, {}))
    first = rp.callback(started, response_url(await browser.sign_in(started["url"], *ALICE), mode))
    hint = first["tokens"]["id_token"]
    again = rp.authorize(**with_mode(mode, {"prompt": "none", "id_token_hint": hint}))
    answer = await browser.http.get(again["url"])
    result = rp.callback(again, response_url(answer, mode))
    assert result["claims"]["sub"] == first["claims"]["sub"]


async def test_a_hint_for_another_user_with_prompt_none_is_login_required(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    bobs_token = await id_token_of(server, BOB)
    rp = demo_rp(server)
    started = rp.authorize()
    await browser.sign_in(started["url"], *ALICE)
    hinted = rp.authorize(**with_mode(mode, {"prompt": "none", "id_token_hint": bobs_token, "state": "h"}))
    _, params = response_params(await browser.http.get(hinted["url"]), mode)
    assert params["error"] == "login_required" and params["state"] == "h"


async def test_a_hint_for_another_user_without_prompt_asks_to_sign_in_without_naming_them(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    """The sign-in page shows, but Alice's browser is not told Bob's username."""
    bobs_token = await id_token_of(server, BOB)
    rp = demo_rp(server)
    started = rp.authorize()
    await browser.sign_in(started["url"], *ALICE)
    hinted = rp.authorize(**with_mode(mode, {"id_token_hint": bobs_token}))
    page = await browser.open(hinted["url"])
    assert page.status_code == 200 and 'name="login"' in page.text
    assert 'value="bob"' not in page.text and 'value="alice"' not in page.text
    answer = await browser.submit(await browser.submit(page, login=BOB[0]), password=BOB[1])
    result = rp.callback(hinted, response_url(answer, mode))
    assert result["claims"]["sub"] == unverified_claims(bobs_token)["sub"]


async def test_a_hint_does_not_name_its_user_to_a_browser_without_their_session(
    server: RunningServer, browser: FormBrowser
) -> None:
    """From a fresh browser, any client's link with a hint shows an empty sign-in page."""
    alices_token = await id_token_of(server, ALICE)
    for client_id, redirect_uri in (("demo-rp", "https://rp.example/callback"),
                                    ("public-app", "https://spa.example/callback")):
        page = await browser.open("/authorize?" + str(httpx2.QueryParams({
            "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
            "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256", "id_token_hint": alices_token})))
        assert page.status_code == 200 and 'name="login"' in page.text
        assert "alice" not in page.text


async def test_a_hint_for_the_user_signed_in_here_fills_in_their_username(
    server: RunningServer, browser: FormBrowser
) -> None:
    """prompt=login with the signed-in user's own hint: the sign-in page names them."""
    rp = demo_rp(server)
    started = rp.authorize()
    first = rp.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
    again = rp.authorize(prompt="login", id_token_hint=first["tokens"]["id_token"])
    page = await browser.open(again["url"])
    assert page.status_code == 200 and 'value="alice"' in page.text


async def test_a_forged_hint_is_invalid_request(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    token = await id_token_of(server, ALICE)
    header, payload, _ = token.split(".")
    for forged in (f"{header}.{payload}.", "not-a-jwt", f"{header}.{payload}.AAAA"):
        hinted = demo_rp(server).authorize(**with_mode(mode, {"id_token_hint": forged}))
        _, params = response_params(await browser.http.get(hinted["url"]), mode)
        assert params["error"] == "invalid_request"


async def test_es256_id_tokens_and_signed_userinfo_for_a_client_that_registered_them(
    server: RunningServer, browser: FormBrowser
) -> None:
    rp = OpenIdClient(server.issuer, "es256-app", "none", redirect_uri="https://es.example/cb",
                      metadata={"id_token_signed_response_alg": "ES256",
                                "userinfo_signed_response_alg": "ES256"})
    started = rp.authorize()
    result = rp.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
    header = result["tokens"]["id_token"].split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"] == "ES256"
    # openid-client verified the signed UserInfo JWT and returned its claims.
    assert result["userinfo"]["sub"] == result["claims"]["sub"]
    async with httpx2.AsyncClient() as http:
        raw = await http.get(f"{server.issuer}/userinfo",
                             headers={"Authorization": f"Bearer {result['tokens']['access_token']}"})
    assert raw.headers["content-type"] == "application/jwt" and raw.text.count(".") == 2
