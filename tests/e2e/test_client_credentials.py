"""The client_credentials grant, with RFC 9068 JWT access tokens and RFC 8707 resource indicators."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.openid_client import OpenIdClient, RelyingPartyError
from tests.e2e.server import CONFIDENTIAL_SECRET, REFERENCE_SECRET, SERVICE_SECRET, RunningServer

SERVICE = ("service", SERVICE_SECRET)


async def request_token(server: RunningServer, auth: tuple[str, str] = SERVICE,
                        form: list[tuple[str, str]] | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(
            f"{server.issuer}/token", auth=auth,
            content=urlencode([("grant_type", "client_credentials"), *(form or [])]),
            headers={"Content-Type": "application/x-www-form-urlencoded"})


async def verified(server: RunningServer, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    async with httpx2.AsyncClient() as http:
        keys = KeySet.import_key_set((await http.get(f"{server.issuer}/jwks")).json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    return dict(decoded.header), dict(decoded.claims)


async def test_client_credentials_token_is_an_rfc9068_jwt(server: RunningServer) -> None:
    response = await request_token(server)
    body = response.json()
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["scope"] == "api:read api:write"
    header, claims = await verified(server, body["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == claims["client_id"] == "service"
    assert claims["aud"] == ["https://api.example/"] and claims["iss"] == server.issuer
    assert {"exp", "iat", "jti", "scope"} <= claims.keys() and "auth_time" not in claims


async def test_resource_indicators_choose_the_audience(server: RunningServer) -> None:
    one = await request_token(server, form=[("resource", "https://reports.example/")])
    assert (await verified(server, one.json()["access_token"]))[1]["aud"] == ["https://reports.example/"]
    both = await request_token(server, form=[("resource", "https://api.example/"),
                                             ("resource", "https://reports.example/")])
    assert (await verified(server, both.json()["access_token"]))[1]["aud"] == [
        "https://api.example/", "https://reports.example/"]
    for bad in ("https://evil.example/", "not a uri", "https://api.example/#frag"):
        refused = await request_token(server, form=[("resource", bad)])
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"


async def test_scopes_can_narrow_but_user_scopes_are_refused(server: RunningServer) -> None:
    narrow = await request_token(server, form=[("scope", "api:read")])
    assert narrow.json()["scope"] == "api:read"
    for scope in ("openid", "api:read api:admin", "offline_access"):
        refused = await request_token(server, form=[("scope", scope)])
        assert refused.json()["error"] == "invalid_scope"


async def test_clients_not_registered_for_it_are_unauthorized(server: RunningServer) -> None:
    response = await request_token(server, auth=("demo-rp", CONFIDENTIAL_SECRET))
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


async def test_client_tokens_are_not_accepted_by_userinfo_but_introspect(server: RunningServer) -> None:
    token = (await request_token(server)).json()["access_token"]
    async with httpx2.AsyncClient() as http:
        userinfo = await http.get(f"{server.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"})
        introspected = (await http.post(f"{server.issuer}/introspect", auth=SERVICE, data={"token": token})).json()
        await http.post(f"{server.issuer}/revoke", auth=SERVICE, data={"token": token})
        after = (await http.post(f"{server.issuer}/introspect", auth=SERVICE, data={"token": token})).json()
    # Its aud is https://api.example/, not UserInfo (RFC 9068 §4): RFC 6750 §3.1 invalid_token.
    assert userinfo.status_code == 401
    assert 'error="invalid_token"' in userinfo.headers["www-authenticate"]
    assert introspected["active"] is True and introspected["sub"] == "service"
    assert after == {"active": False}


async def test_openid_client_client_credentials_grant(server: RunningServer) -> None:
    rp = OpenIdClient(server.issuer, "service", secret=SERVICE_SECRET)
    tokens = rp.call("clientCredentials", params={"resource": "https://reports.example/"})
    assert tokens["token_type"].lower() == "bearer" and tokens["scope"] == "api:read api:write"
    with pytest.raises(RelyingPartyError) as caught:
        rp.call("clientCredentials", params={"scope": "openid"})
    assert caught.value.error["oauth"] == "invalid_scope"


@pytest.mark.parametrize("client", [SERVICE, ("ref-app", REFERENCE_SECRET)], ids=["jwt", "reference"])
async def test_revoking_a_client_token_ends_that_token_only(
    server: RunningServer, client: tuple[str, str]
) -> None:
    """A client_credentials token carries its whole grant, which is stored only once revoked:
    revoking it (twice, as a retry would) ends it and leaves the client's other tokens alone."""
    first, second = [(await request_token(server, auth=client)).json()["access_token"]
                     for _ in range(2)]
    async with httpx2.AsyncClient() as http:
        async def active(token: str) -> bool:
            answer = await http.post(f"{server.issuer}/introspect", auth=client,
                                     data={"token": token})
            return bool(answer.json()["active"])

        assert await active(first) and await active(second)
        for _ in range(2):
            revoked = await http.post(f"{server.issuer}/revoke", auth=client,
                                      data={"token": first})
            assert revoked.status_code == 200
        others = await http.post(f"{server.issuer}/revoke", auth=("demo-rp", CONFIDENTIAL_SECRET),
                                 data={"token": second})
        assert others.status_code == 400 and others.json()["error"] == "unauthorized_client"
        assert not await active(first) and await active(second)
