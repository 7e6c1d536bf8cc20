"""Grants: a reused code revokes what it issued; refresh tokens rotate and a replay ends the family."""

from __future__ import annotations

import pytest

from tests.e2e.browser import FormBrowser, response_url, with_mode
from tests.e2e.openid_client import OpenIdClient, RelyingPartyError
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, OTHER_SECRET, RunningServer
from tests.e2e.tokens import signed_in_tokens, token_request, unverified_claims, userinfo_status

CALLBACK = "https://rp.example/callback"


async def test_oidcc_codereuse_revokes_the_tokens_issued_from_the_code(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    """oidcc-codereuse (and oidcc-codereuse-30seconds: a reuse is caught until the code expires)."""
    code, first = await signed_in_tokens(server, browser, "openid offline_access", mode)
    assert await userinfo_status(server, first["access_token"]) == 200
    again = await token_request(server, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert await userinfo_status(server, first["access_token"]) == 401
    refreshed = await token_request(server, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


async def test_oidcc_refresh_token_rotates_and_keeps_the_id_token_claims(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    _, first = await signed_in_tokens(server, browser, "openid profile offline_access", mode)
    assert first["scope"] == "openid profile offline_access"
    response = await token_request(server, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    old, new = unverified_claims(first["id_token"]), unverified_claims(second["id_token"])
    for claim in ("iss", "sub", "aud", "azp", "auth_time", "sid", "acr", "amr"):
        assert new[claim] == old[claim], claim
    assert new["iat"] >= old["iat"] and "nonce" not in new and old["nonce"] == "n-1"
    assert await userinfo_status(server, second["access_token"]) == 200


async def test_a_replayed_refresh_token_revokes_the_whole_family(
    server: RunningServer, browser: FormBrowser
) -> None:
    _, first = await signed_in_tokens(server, browser, "openid offline_access")
    second = (await token_request(server, grant_type="refresh_token", refresh_token=first["refresh_token"])).json()
    replay = await token_request(server, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    after = await token_request(server, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert after.json()["error"] == "invalid_grant"
    assert await userinfo_status(server, second["access_token"]) == 401


async def test_a_refresh_token_of_another_client_is_invalid_grant_and_stays_usable(
    server: RunningServer, browser: FormBrowser
) -> None:
    _, first = await signed_in_tokens(server, browser, "openid offline_access")
    stolen = await token_request(server, ("other-rp", OTHER_SECRET), grant_type="refresh_token",
                                 refresh_token=first["refresh_token"])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    mine = await token_request(server, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert mine.status_code == 200


async def test_refresh_can_narrow_but_not_widen_the_scope(server: RunningServer, browser: FormBrowser) -> None:
    _, first = await signed_in_tokens(server, browser, "openid profile offline_access")
    wider = await token_request(server, grant_type="refresh_token", refresh_token=first["refresh_token"],
                                scope="openid profile email offline_access")
    assert wider.json()["error"] == "invalid_scope"
    narrower = await token_request(server, grant_type="refresh_token", refresh_token=first["refresh_token"],
                                   scope="openid")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "openid"
    assert unverified_claims(narrower.json()["access_token"])["scope"] == "openid"
    # The rotated refresh token keeps the original scope (RFC 6749 §6).
    again = await token_request(server, grant_type="refresh_token",
                                refresh_token=narrower.json()["refresh_token"])
    assert again.json()["scope"] == "openid profile offline_access"


async def test_no_refresh_token_without_offline_access_or_for_clients_not_registered_for_it(
    server: RunningServer, browser: FormBrowser
) -> None:
    _, online = await signed_in_tokens(server, browser, "openid")
    assert "refresh_token" not in online
    public = OpenIdClient(server.issuer, "public-app", "none", redirect_uri="https://spa.example/callback")
    started = public.authorize(scope="openid offline_access")
    answer = await browser.sign_in(started["url"], *ALICE)
    result = public.callback(started, answer.headers["location"])
    assert "refresh_token" not in result["tokens"] and result["tokens"]["scope"] == "openid"


async def test_openid_client_refresh_token_grant(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    rp = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
    started = rp.authorize(**with_mode(mode, {"scope": "openid offline_access"}))
    answer = await browser.sign_in(started["url"], *ALICE)
    first = rp.callback(started, response_url(answer, mode))
    refreshed = rp.call("refresh", refreshToken=first["tokens"]["refresh_token"])
    assert refreshed["claims"]["sub"] == first["claims"]["sub"]
    with pytest.raises(RelyingPartyError) as caught:
        rp.call("refresh", refreshToken=first["tokens"]["refresh_token"])
    assert caught.value.error["oauth"] == "invalid_grant"
