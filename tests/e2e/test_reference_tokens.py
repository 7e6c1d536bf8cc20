"""Reference (opaque) access tokens for a client that chose them: same behaviour, no JWT."""

from __future__ import annotations

import httpx2

from tests.e2e.browser import FormBrowser
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, REFERENCE_SECRET, RunningServer

AUTH = ("ref-app", REFERENCE_SECRET)


async def test_reference_tokens_through_userinfo_introspection_and_revocation(
    server: RunningServer, browser: FormBrowser
) -> None:
    rp = OpenIdClient(server.issuer, "ref-app", secret=REFERENCE_SECRET, redirect_uri="https://ref.example/cb")
    started = rp.authorize(scope="openid profile")
    result = rp.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
    token = result["tokens"]["access_token"]
    assert "." not in token and len(token) >= 43  # opaque, 256 bits
    assert result["userinfo"]["name"] == "Alice Example"  # openid-client called userinfo with it
    async with httpx2.AsyncClient() as http:
        introspected = (await http.post(f"{server.issuer}/introspect", auth=AUTH, data={"token": token})).json()
        assert introspected["active"] is True and introspected["scope"] == "openid profile"
        assert introspected["client_id"] == "ref-app" and introspected["sub"] == result["claims"]["sub"]
        await http.post(f"{server.issuer}/revoke", auth=AUTH, data={"token": token})
        after = await http.get(f"{server.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert after.status_code == 401
        assert (await http.post(f"{server.issuer}/introspect", auth=AUTH, data={"token": token})).json() == {"active": False}
        unknown = await http.get(f"{server.issuer}/userinfo", headers={"Authorization": "Bearer not-a-token"})
        assert unknown.status_code == 401 and 'error="invalid_token"' in unknown.headers["www-authenticate"]


async def test_reference_tokens_for_client_credentials(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        body = (await http.post(f"{server.issuer}/token", auth=AUTH, data={"grant_type": "client_credentials"})).json()
        introspected = (await http.post(f"{server.issuer}/introspect", auth=AUTH,
                                        data={"token": body["access_token"]})).json()
    assert "." not in body["access_token"] and body["scope"] == "api:read"
    assert introspected["active"] is True and introspected["sub"] == "ref-app"
