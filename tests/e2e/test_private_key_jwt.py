"""private_key_jwt client authentication with openid-client signing the assertions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from tests.e2e.browser import FormBrowser
from tests.e2e.openid_client import OpenIdClient, RelyingPartyError
from tests.e2e.server import ALICE, JWT_CLIENT_KEY, RunningServer, client_settings, start_server
from tests.receiver import receiver


def jwt_client(server: RunningServer) -> OpenIdClient:
    return OpenIdClient(server.issuer, "jwt-client", "private_key_jwt",
                        redirect_uri="https://jwt.example/cb",
                        private_jwk=JWT_CLIENT_KEY.as_dict(private=True))


async def test_private_key_jwt_at_token_refresh_introspection(server: RunningServer, browser: FormBrowser) -> None:
    rp = jwt_client(server)
    started = rp.authorize(scope="openid offline_access")
    result = rp.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
    assert result["claims"]["aud"] == "jwt-client"
    refreshed = rp.call("refresh", refreshToken=result["tokens"]["refresh_token"])
    assert refreshed["claims"]["sub"] == result["claims"]["sub"]
    assert rp.call("introspect", token=refreshed["tokens"]["access_token"])["active"] is True


async def test_a_wrong_key_is_invalid_client(server: RunningServer, browser: FormBrowser) -> None:
    rp = jwt_client(server)
    rp.private_jwk = RSAKey.generate_key(2048, parameters={"kid": "jwt-client-1"}, private=True).as_dict(private=True)
    started = rp.authorize()
    answer = await browser.sign_in(started["url"], *ALICE)
    with pytest.raises(RelyingPartyError) as caught:
        rp.callback(started, answer.headers["location"])
    assert caught.value.error["oauth"] == "invalid_client"


async def test_keys_from_a_jwks_uri(tmp_path: Path) -> None:
    public = json.dumps({"keys": [JWT_CLIENT_KEY.as_dict(private=False)]}).encode()
    with receiver(body=public) as published:
        clients = client_settings("http://unused")
        jwt_entry = next(c for c in clients if c["client_id"] == "jwt-client")
        jwt_entry.pop("jwks")
        jwt_entry["jwks_uri"] = published.url
        server = start_server(tmp_path, clients=clients, demo=False, outbound_allow_private_addresses=True)
        try:
            rp = jwt_client(server)
            browser = FormBrowser(server.issuer)
            started = rp.authorize()
            result = rp.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
            await browser.close()
        finally:
            server.stop()
    assert result["claims"]["aud"] == "jwt-client"
