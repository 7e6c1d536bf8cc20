"""Token revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

import httpx2

from tests.e2e.browser import FormBrowser
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import CONFIDENTIAL_SECRET, OTHER_SECRET, SERVICE_SECRET, RunningServer
from tests.e2e.tokens import signed_in_tokens, token_request, userinfo_status

DEMO = ("demo-rp", CONFIDENTIAL_SECRET)


async def post(server: RunningServer, path: str, auth: tuple[str, str] | None = DEMO,
               **form: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{server.issuer}{path}", data=form, auth=auth)


async def test_revoking_a_refresh_token_ends_its_access_tokens(server: RunningServer, browser: FormBrowser) -> None:
    _, tokens = await signed_in_tokens(server, browser, "openid offline_access")
    response = await post(server, "/revoke", token=tokens["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200 and response.text == ""
    assert await userinfo_status(server, tokens["access_token"]) == 401
    refreshed = await token_request(server, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


async def test_revoking_an_access_token_with_a_wrong_hint(server: RunningServer, browser: FormBrowser) -> None:
    _, tokens = await signed_in_tokens(server, browser, "openid")
    response = await post(server, "/revoke", token=tokens["access_token"], token_type_hint="refresh_token")
    assert response.status_code == 200
    assert await userinfo_status(server, tokens["access_token"]) == 401


async def test_revocation_answers_200_for_unknown_tokens_and_401_without_client_auth(server: RunningServer) -> None:
    assert (await post(server, "/revoke", token="no-such-token")).status_code == 200
    anonymous = await post(server, "/revoke", auth=None, token="no-such-token", client_id="demo-rp")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    missing = await post(server, "/revoke")
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


async def test_a_client_cannot_revoke_another_clients_token(server: RunningServer, browser: FormBrowser) -> None:
    _, tokens = await signed_in_tokens(server, browser, "openid")
    response = await post(server, "/revoke", ("other-rp", OTHER_SECRET), token=tokens["access_token"])
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
    assert await userinfo_status(server, tokens["access_token"]) == 200


async def test_introspection_of_active_and_revoked_tokens(server: RunningServer, browser: FormBrowser) -> None:
    _, tokens = await signed_in_tokens(server, browser, "openid profile offline_access")
    access = (await post(server, "/introspect", token=tokens["access_token"])).json()
    assert access["active"] is True and access["client_id"] == "demo-rp"
    assert access["scope"] == "openid profile offline_access" and access["token_type"] == "Bearer"
    assert access["iss"] == server.issuer and access["exp"] > access["iat"]
    refresh = await post(server, "/introspect", token=tokens["refresh_token"])
    assert refresh.json()["active"] is True and refresh.json()["sub"] == access["sub"]
    assert refresh.headers["cache-control"] == "no-store"
    # Another client sees nothing of them (RFC 7662 §4); a resource server sees the access token.
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await post(server, "/introspect", ("other-rp", OTHER_SECRET), token=token)).json() == {"active": False}
    by_api = await post(server, "/introspect", ("service", SERVICE_SECRET), token=tokens["access_token"])
    assert by_api.json()["active"] is True
    hidden = await post(server, "/introspect", ("service", SERVICE_SECRET), token=tokens["refresh_token"])
    assert hidden.json() == {"active": False}
    await post(server, "/revoke", token=tokens["access_token"])
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await post(server, "/introspect", token=token)).json() == {"active": False}
    assert (await post(server, "/introspect", token="garbage")).json() == {"active": False}


async def test_a_rotated_refresh_token_introspects_inactive(server: RunningServer, browser: FormBrowser) -> None:
    _, tokens = await signed_in_tokens(server, browser, "openid offline_access")
    await token_request(server, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (await post(server, "/introspect", token=tokens["refresh_token"])).json() == {"active": False}


async def test_public_clients_cannot_introspect(server: RunningServer) -> None:
    response = await post(server, "/introspect", auth=None, token="x", client_id="public-app")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_openid_client_revocation_and_introspection(server: RunningServer, browser: FormBrowser) -> None:
    rp = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
    started = rp.authorize(scope="openid offline_access")
    result = rp.callback(started, (await browser.sign_in(started["url"], "alice", "alice-password-1")).headers["location"])
    access = result["tokens"]["access_token"]
    assert rp.call("introspect", token=access)["active"] is True
    rp.call("revoke", token=result["tokens"]["refresh_token"], hint="refresh_token")
    assert rp.call("introspect", token=access)["active"] is False
