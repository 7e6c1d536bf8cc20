"""Basic OP plan modules not covered by the other end-to-end files, each run in query and in
form_post response mode (the Form Post OP plan); see docs/conformance.md."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest

from tests.e2e.browser import FormBrowser, response_params, response_url, with_mode
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, RunningServer


def rp(server: RunningServer) -> OpenIdClient:
    return OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)


async def signed_in(server: RunningServer, browser: FormBrowser, mode: str, **params: str) -> dict:  # type: ignore[type-arg]
    client = rp(server)
    started = client.authorize(**with_mode(mode, params))
    answer = await browser.sign_in(started["url"], *ALICE)
    return client.callback(started, response_url(answer, mode))


async def test_oidcc_userinfo_get_post_header_post_body(server: RunningServer, browser: FormBrowser, mode: str) -> None:
    token = (await signed_in(server, browser, mode, scope="openid email"))["tokens"]["access_token"]
    url = f"{server.issuer}/userinfo"
    async with httpx2.AsyncClient() as http:
        answers = [
            await http.get(url, headers={"Authorization": f"Bearer {token}"}),
            await http.post(url, headers={"Authorization": f"Bearer {token}"}),
            await http.post(url, data={"access_token": token}),
        ]
        both = await http.post(url, data={"access_token": token}, headers={"Authorization": f"Bearer {token}"})
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json()["email"] == "alice@example.com" for a in answers)
    assert both.status_code == 400 and 'error="invalid_request"' in both.headers["www-authenticate"]


@pytest.mark.parametrize(("scope", "expected"), [
    ("openid profile", {"sub", "name", "preferred_username"}),
    ("openid email", {"sub", "email", "email_verified"}),
    ("openid address", {"sub"}),  # alice has no address: nothing to release
    ("openid phone", {"sub"}),
    ("openid profile email address phone", {"sub", "name", "preferred_username", "email", "email_verified"}),
    ("email openid profile", {"sub", "name", "preferred_username", "email", "email_verified"}),
])
async def test_oidcc_scope_modules(server: RunningServer, browser: FormBrowser, mode: str, scope: str, expected: set[str]) -> None:
    """oidcc-scope-profile, -email, -address, -phone, -all and oidcc-ensure-other-scope-order-succeeds."""
    result = await signed_in(server, browser, mode, scope=scope)
    assert set(result["userinfo"]) == expected


@pytest.mark.parametrize("params", [
    {"display": "page"}, {"display": "popup"}, {"claims_locales": "fr-CA"},
    {"acr_values": "urn:gatehouse:loa:1"}, {"extra": "ignored", "foo": "bar"},
    # In order of preference (OIDC Core §3.1.2.1): loa:1 first keeps the ordinary flow, not step-up.
    {"acr_values": "urn:gatehouse:loa:1 urn:gatehouse:loa:2"},
])
async def test_oidcc_accepted_parameters(server: RunningServer, browser: FormBrowser, mode: str, params: dict[str, str]) -> None:
    """oidcc-display-page, -display-popup, -claims-locales, -ensure-request-with-acr-values-succeeds,
    -ensure-request-with-unknown-parameter-succeeds: the request works as without them."""
    result = await signed_in(server, browser, mode, **params)
    assert result["claims"]["acr"] == "urn:gatehouse:loa:1"


async def test_oidcc_max_age_1_forces_a_new_sign_in(server: RunningServer, browser: FormBrowser, mode: str) -> None:
    first = await signed_in(server, browser, mode)
    await asyncio.sleep(1.5)
    client = rp(server)
    started = client.authorize(**with_mode(mode, {"max_age": "1"}))
    page = await browser.open(started["url"])
    assert page.status_code == 200 and 'name="login"' in page.text  # the pages, not a code
    answer = await browser.sign_in(started["url"], *ALICE)
    second = client.callback(started, response_url(answer, mode), maxAge=1)
    assert second["claims"]["auth_time"] > first["claims"]["auth_time"]


async def test_oidcc_max_age_10000_reuses_the_session(server: RunningServer, browser: FormBrowser, mode: str) -> None:
    first = await signed_in(server, browser, mode)
    client = rp(server)
    started = client.authorize(**with_mode(mode, {"max_age": "10000"}))
    answer = await browser.http.get(started["url"])
    second = client.callback(started, response_url(answer, mode), maxAge=10000)
    assert second["claims"]["auth_time"] == first["claims"]["auth_time"]


async def test_oidcc_response_type_missing(browser: FormBrowser, mode: str) -> None:
    response = await browser.http.get("/authorize", params=with_mode(mode, {
        "client_id": "demo-rp", "redirect_uri": "https://rp.example/callback", "scope": "openid",
        "state": "s"}))
    target, params = response_params(response, mode)
    assert target == "https://rp.example/callback"
    assert params["error"] == "invalid_request" and params["state"] == "s"


async def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    client = rp(server)
    started = client.authorize(**with_mode(mode, {}))
    url = httpx2.URL(started["url"])
    without_nonce = url.copy_remove_param("nonce")
    answer = await browser.sign_in(str(without_nonce), *ALICE)
    result = client.callback({**started, "nonce": None}, response_url(answer, mode))
    assert "nonce" not in result["claims"]


async def test_oidcc_claims_essential(server: RunningServer, browser: FormBrowser, mode: str) -> None:
    """A claim asked for with the claims parameter is released although its scope was not."""
    claims = json.dumps({"userinfo": {"name": {"essential": True}}})
    result = await signed_in(server, browser, mode, scope="openid", claims=claims)
    assert result["userinfo"] == {"sub": result["claims"]["sub"], "name": "Alice Example"}
    assert "name" not in result["claims"]


async def test_claims_requested_for_the_id_token(server: RunningServer, browser: FormBrowser, mode: str) -> None:
    claims = json.dumps({"id_token": {"email": None, "unknown_claim": None}})
    result = await signed_in(server, browser, mode, scope="openid", claims=claims)
    assert result["claims"]["email"] == "alice@example.com" and "unknown_claim" not in result["claims"]
    assert "email" not in result["userinfo"]


@pytest.mark.parametrize("claims", ["{not json", "[1, 2]", '{"userinfo": ["name"]}', '{"id_token": {"a": 1}}'])
async def test_a_malformed_claims_parameter_is_invalid_request(
    browser: FormBrowser, claims: str, mode: str
) -> None:
    response = await browser.http.get("/authorize", params=with_mode(mode, {
        "client_id": "demo-rp", "redirect_uri": "https://rp.example/callback", "response_type": "code",
        "scope": "openid", "claims": claims}))
    assert response_params(response, mode)[1]["error"] == "invalid_request"
