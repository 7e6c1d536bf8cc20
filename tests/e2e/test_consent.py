"""Consent through the real server: asked when the client requires it or for offline_access,
remembered, asked again for prompt=consent, and answered with consent_required under prompt=none
(OIDC Core §3.1.2.1, §3.1.2.4, §11)."""

from __future__ import annotations

import base64
import hashlib

import httpx2

from tests.e2e.browser import FormBrowser, page_text, redirect_params, response_params, with_mode
from tests.e2e.server import ALICE, BOB, RunningServer, add_user_with_email

VERIFIER = "consent-test-verifier-" + "x" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def authorize_url(client_id: str, redirect_uri: str, scope: str, **extra: str) -> str:
    return "/authorize?" + str(httpx2.QueryParams({
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": scope, "state": "s-1", "code_challenge_method": "S256",
        "code_challenge": CHALLENGE, **extra,
    }))


CONSENT_APP = ("consent-app", "https://consent.example/cb")


async def signed_in_with_consent(browser: FormBrowser, url: str) -> httpx2.Response:
    """Sign in as alice, allowing access if this test server has not remembered it yet."""
    answer = await browser.sign_in(url, *ALICE)
    return answer if answer.is_redirect else await browser.click(answer, ("decision", "allow"))
OFFLINE_APP = ("offline-app", "https://offline.example/cb")


async def test_consent_is_asked_then_remembered(server: RunningServer, browser: FormBrowser) -> None:
    page = await browser.sign_in(authorize_url(*CONSENT_APP, "openid email"), *ALICE)
    assert page.status_code == 200 and "Allow Reports to access your account?" in page_text(page)
    assert 'data-scope="email"' in page.text and 'data-scope="openid"' in page.text
    answer = await browser.click(page, ("decision", "allow"))
    target, params = redirect_params(answer)
    assert target == CONSENT_APP[1] and "code" in params and params["state"] == "s-1"
    again = await browser.open(authorize_url(*CONSENT_APP, "openid email"))
    assert "code" in redirect_params(again)[1]  # remembered: the session answers at once
    silent = await browser.open(authorize_url(*CONSENT_APP, "openid email", prompt="none"))
    assert "code" in redirect_params(silent)[1]


async def test_prompt_consent_asks_even_when_remembered(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    await signed_in_with_consent(browser, authorize_url(*CONSENT_APP, "openid"))
    url = authorize_url(*CONSENT_APP, "openid", **with_mode(mode, {"prompt": "consent"}))
    page = await browser.open(url)
    assert page.status_code == 200 and "Allow Reports" in page_text(page)
    assert "code" in response_params(await browser.click(page, ("decision", "allow")), mode)[1]


async def test_oidcc_prompt_none_without_consent_is_consent_required(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    await signed_in_with_consent(browser, authorize_url(*CONSENT_APP, "openid"))
    url = authorize_url(*CONSENT_APP, "openid profile", **with_mode(mode, {"prompt": "none"}))
    answer = await browser.open(url)
    target, params = response_params(answer, mode)
    assert target == CONSENT_APP[1]
    assert (params["error"], params["state"], params["iss"]) == ("consent_required", "s-1", server.issuer)


async def test_declining_consent_is_access_denied(server: RunningServer, browser: FormBrowser) -> None:
    page = await browser.sign_in(authorize_url(*CONSENT_APP, "openid", prompt="consent"), *ALICE)
    target, params = redirect_params(await browser.click(page, ("decision", "deny")))
    assert target == CONSENT_APP[1]
    assert (params["error"], params["state"]) == ("access_denied", "s-1")
    assert params["error_description"] == "The user did not allow access."


async def test_offline_access_asks_consent_and_then_gives_a_refresh_token(
    server: RunningServer, browser: FormBrowser
) -> None:
    # A user of its own: other tests on this server may have let offline-app in for alice.
    add_user_with_email(server, "olive")
    url = authorize_url(*OFFLINE_APP, "openid offline_access")
    page = await browser.sign_in(url, "olive", "olive-password-1")
    assert "Stay connected when you are not using it" in page_text(page)
    code = redirect_params(await browser.click(page, ("decision", "allow")))[1]["code"]
    async with httpx2.AsyncClient() as http:
        tokens = (await http.post(f"{server.issuer}/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": OFFLINE_APP[1],
            "client_id": OFFLINE_APP[0],
            "code_verifier": VERIFIER,
        })).json()
    assert "refresh_token" in tokens and tokens["scope"] == "openid offline_access"


async def test_offline_access_without_consent_is_consent_required_under_prompt_none(
    server: RunningServer, browser: FormBrowser
) -> None:
    await browser.sign_in(authorize_url("public-app", "https://spa.example/callback", "openid"), *BOB)
    answer = await browser.open(authorize_url(*OFFLINE_APP, "openid offline_access", prompt="none"))
    assert redirect_params(answer)[1]["error"] == "consent_required"
