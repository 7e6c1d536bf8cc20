"""Helpers for the token tests: sign in and redeem, call the token endpoint, read our JWTs."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from tests.e2e.browser import FormBrowser, response_params, with_mode
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, RunningServer
from tests.e2e.test_sign_in import RP_CALLBACK, authorization_url, rp_client, verify_id_token

CALLBACK = "https://rp.example/callback"


async def signed_in_tokens(
    server: RunningServer, browser: FormBrowser, scope: str, mode: str = "query"
) -> tuple[str, dict[str, Any]]:
    """A fresh code for demo-rp, answered in `mode`, and the token response it redeems to."""
    url = "/authorize?" + str(httpx2.QueryParams(with_mode(mode, {
        "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": scope,
        "nonce": "n-1"})))
    answer = await browser.sign_in(url, *ALICE)
    code = response_params(answer, mode)[1]["code"]
    return code, (await token_request(server, grant_type="authorization_code", code=code,
                                      redirect_uri=CALLBACK)).json()


async def code_flow(
    server: RunningServer, browser: FormBrowser,
    steps: Callable[[httpx2.Response], Awaitable[httpx2.Response]], **params: str,
) -> dict[str, Any]:
    """demo-rp's code flow (with `params` in the request): start at the authorize endpoint, go
    through `steps(first page)` to the answer, redeem the code; the verified ID token's claims,
    with UserInfo's answer under `userinfo`."""
    async with rp_client(server) as oauth:
        url, verifier = authorization_url(oauth, server, state="st", nonce="nn", **params)
        final = await steps(await browser.open(url))
        target, params = response_params(final)
        assert target == RP_CALLBACK, final.text
        token = await oauth.fetch_token(
            f"{server.issuer}/token", code=params["code"], code_verifier=verifier
        )
        claims = await verify_id_token(server, token["id_token"], "demo-rp")
        claims["userinfo"] = (await oauth.get(f"{server.issuer}/userinfo")).json()
    return claims


async def password_sign_in(
    server: RunningServer, login: str, password: str, **params: str
) -> dict[str, Any]:
    """`code_flow` (with `params` in the request) in a new browser, through the identify and
    password pages."""
    browser = FormBrowser(server.issuer)

    async def pages(page: httpx2.Response) -> httpx2.Response:
        return await browser.submit(await browser.submit(page, login=login), password=password)

    try:
        return await code_flow(server, browser, pages, **params)
    finally:
        await browser.close()


async def token_request(server: RunningServer, auth: tuple[str, str] = ("demo-rp", CONFIDENTIAL_SECRET),
                        **form: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{server.issuer}/token", data=form, auth=auth)


async def userinfo_status(server: RunningServer, access_token: str) -> int:
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{server.issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of one of our JWTs (their signatures are checked in the sign-in tests)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
