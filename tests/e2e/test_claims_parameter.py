"""The `claims` request parameter (OIDC Core §5.5) releases only claims of the scopes the client
is registered for, and, when consent applies, only what the user agreed to: in the ID token and
from UserInfo alike (docs/conformance.md, "Claims")."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, RunningServer
from tests.e2e.test_consent import CONSENT_APP, OFFLINE_APP, VERIFIER, authorize_url
from tests.e2e.test_sign_in import verify_id_token

EVERYTHING = {"email": None, "email_verified": None, "name": None, "preferred_username": None}
# Where the account page once received codes, as a client of /authorize.
ACCOUNT_CALLBACK = "/account/signed-in"


async def redeem(server: RunningServer, client: tuple[str, str], answer: httpx2.Response) -> dict[str, Any]:
    """The public client's code redeemed: the verified ID token's claims, and UserInfo's answer."""
    target, params = redirect_params(answer)
    assert target == client[1], answer.text
    async with httpx2.AsyncClient() as http:
        tokens = (await http.post(f"{server.issuer}/token", data={
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": client[1],
            "client_id": client[0], "code_verifier": VERIFIER,
        })).json()
        userinfo = await http.get(f"{server.issuer}/userinfo",
                                  headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 200, userinfo.text
    return {"id_token": await verify_id_token(server, tokens["id_token"], client[0]),
            "userinfo": userinfo.json()}


async def test_claims_of_scopes_the_client_is_not_registered_for_are_not_released(
    server: RunningServer, browser: FormBrowser
) -> None:
    """offline-app is registered for `openid offline_access` only: asking for email and profile
    claims by name gets neither, in the ID token or from UserInfo."""
    claims = json.dumps({"id_token": EVERYTHING, "userinfo": EVERYTHING})
    answer = await browser.sign_in(authorize_url(*OFFLINE_APP, "openid", claims=claims), *ALICE)
    result = await redeem(server, OFFLINE_APP, answer)
    assert result["userinfo"] == {"sub": result["id_token"]["sub"]}
    assert not set(EVERYTHING) & set(result["id_token"])


async def test_the_account_pages_own_id_gets_no_code_and_so_no_claims(server: RunningServer) -> None:
    """gatehouse-account is the account page's record, not a client of /authorize: asked with
    the claims parameter, authorize answers with a page (no code goes anywhere), and /token
    refuses the id."""
    client = ("gatehouse-account", f"{server.issuer}{ACCOUNT_CALLBACK}")
    claims = json.dumps({"id_token": EVERYTHING, "userinfo": EVERYTHING})
    async with httpx2.AsyncClient() as http:
        answer = await http.get(
            server.issuer + authorize_url(*client, "openid email profile", claims=claims))
        tokens = await http.post(f"{server.issuer}/token", data={
            "grant_type": "authorization_code", "code": "x", "redirect_uri": client[1],
            "client_id": client[0], "code_verifier": VERIFIER,
        })
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "Invalid redirect URI" in page_text(answer)
    assert tokens.status_code == 400 and tokens.json()["error"] == "unauthorized_client"


async def test_claims_asked_by_name_need_consent_and_only_those_of_the_clients_scopes_are_asked(
    server: RunningServer, browser: FormBrowser
) -> None:
    """consent-app (openid profile email offline_access, consent required): a remembered consent
    to `openid` does not cover a claim asked by name; the consent page lists the claims of its
    scopes only (not a phone number), and what the user allows is released."""
    answer = await browser.sign_in(authorize_url(*CONSENT_APP, "openid"), *ALICE)
    if not answer.is_redirect:
        answer = await browser.click(answer, ("decision", "allow"))
    assert "code" in redirect_params(answer)[1]
    claims = json.dumps({"id_token": {"email": None}, "userinfo": {"name": None, "phone_number": None}})
    silent = await browser.open(authorize_url(*CONSENT_APP, "openid", claims=claims, prompt="none"))
    assert redirect_params(silent)[1]["error"] == "consent_required"
    page = await browser.open(authorize_url(*CONSENT_APP, "openid", claims=claims))
    assert "Email address" in page_text(page) and "Full name" in page_text(page)
    assert "Phone number" not in page_text(page)
    result = await redeem(server, CONSENT_APP, await browser.click(page, ("decision", "allow")))
    assert result["id_token"]["email"] == "alice@example.com" and "name" not in result["id_token"]
    assert result["userinfo"] == {"sub": result["id_token"]["sub"], "name": "Alice Example"}
