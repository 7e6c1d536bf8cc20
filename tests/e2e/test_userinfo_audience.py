"""UserInfo accepts only access tokens issued for it (RFC 9068 §4): a token whose `aud` names
another resource is `invalid_token` (RFC 6750 §3.1), a JWT or a reference token alike."""

from __future__ import annotations

import secrets

import httpx2

from core import digest
from store.records import AccessTokenRecord
from tests.e2e.browser import FormBrowser
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, REFERENCE_SECRET, SERVICE_SECRET, RunningServer, server_store


async def userinfo(server: RunningServer, token: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.get(f"{server.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"})


def refused_as_invalid_token(response: httpx2.Response) -> bool:
    challenge = response.headers.get("www-authenticate", "")
    return response.status_code == 401 and challenge.startswith("Bearer") and 'error="invalid_token"' in challenge


async def test_a_token_for_another_resource_is_invalid_token(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        body = (await http.post(f"{server.issuer}/token", auth=("service", SERVICE_SECRET), data={
            "grant_type": "client_credentials", "resource": "https://reports.example/"})).json()
    assert refused_as_invalid_token(await userinfo(server, body["access_token"]))


async def test_a_users_token_with_openid_for_another_resource_is_invalid_token(
    server: RunningServer, browser: FormBrowser
) -> None:
    """Alice's own reference token for ref-app works; the same claims with another `aud` (as a
    token for a resource server would carry) are refused, though its scope includes openid."""
    rp = OpenIdClient(server.issuer, "ref-app", secret=REFERENCE_SECRET, redirect_uri="https://ref.example/cb")
    started = rp.authorize(scope="openid profile")
    result = rp.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
    token = result["tokens"]["access_token"]
    elsewhere = secrets.token_urlsafe(32)
    async with server_store(server) as store:
        record = await store.access_tokens.get(digest(token), 0)
        assert record is not None and record.claims["aud"] == f"{server.issuer}/userinfo"
        await store.access_tokens.add(AccessTokenRecord(
            id=digest(elsewhere), claims={**record.claims, "aud": ["https://api.example/"]},
            expires_at=record.expires_at))
    assert (await userinfo(server, token)).json()["name"] == "Alice Example"
    assert refused_as_invalid_token(await userinfo(server, elsewhere))
