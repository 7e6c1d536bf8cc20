"""Helpers for the token tests: sign in and redeem, call the token endpoint, read our JWTs."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2

from tests.e2e.browser import FormBrowser, response_params, with_mode
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, RunningServer

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
