"""Dynamic Client Registration (RFC 7591) and its management (RFC 7592) over HTTP: openid-client
registers and signs in; hostile metadata is refused; initial access tokens; a registered client
reads, updates and deletes itself, and cannot touch the config's clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from joserfc.jwk import ECKey

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, RunningServer, gatehouse, start_server

CALLBACK = "https://registered.example/cb"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(Path(tmp_path_factory.mktemp("open-registration")), registration="open")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(Path(tmp_path_factory.mktemp("token-registration")), registration="token")
    yield running
    running.stop()


async def register(server: RunningServer, metadata: Any, token: str | None = None) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient() as http:
        if isinstance(metadata, bytes):
            return await http.post(f"{server.issuer}/register", content=metadata,
                                   headers={**headers, "Content-Type": "application/json"})
        return await http.post(f"{server.issuer}/register", json=metadata, headers=headers)


def initial_token(server: RunningServer) -> str:
    minted = gatehouse(server.config, "clients", "token")
    assert minted.returncode == 0, minted.stderr
    return minted.stdout.strip()


async def test_openid_client_registers_then_signs_in_with_its_new_client(open_server: RunningServer) -> None:
    registrar = OpenIdClient(open_server.issuer, "")
    metadata = registrar.call("register", metadata={
        "redirect_uris": [CALLBACK], "client_name": "Registered App", "scope": "openid profile"})
    assert metadata["client_id"] and metadata["client_secret"] and metadata["registration_access_token"]
    rp = OpenIdClient(open_server.issuer, metadata["client_id"], secret=metadata["client_secret"],
                      redirect_uri=CALLBACK)
    started = rp.authorize(scope="openid profile")
    async with FormBrowser(open_server.issuer) as browser:
        answer = await browser.sign_in(started["url"], *ALICE)
    result = rp.callback(started, answer.headers["location"])
    assert result["claims"]["aud"] == metadata["client_id"]
    assert result["userinfo"]["name"] == "Alice Example"


async def test_the_server_makes_the_secret_and_keeps_only_its_digest(open_server: RunningServer) -> None:
    chosen = "a-secret-the-client-would-like-0123456789"
    answer = await register(open_server, {"redirect_uris": [CALLBACK], "client_secret": chosen})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["client_secret"] != chosen and len(body["client_secret"]) >= 43
    assert body["client_secret_expires_at"] == 0 and answer.headers["cache-control"] == "no-store"
    assert body["registration_client_uri"] == f"{open_server.issuer}/register/{body['client_id']}"


async def test_a_native_app_may_redirect_to_loopback_over_http(open_server: RunningServer) -> None:
    answer = await register(open_server, {"redirect_uris": ["http://127.0.0.1:8123/cb"],
                                          "token_endpoint_auth_method": "none"})
    assert answer.status_code == 201, answer.text
    assert "client_secret" not in answer.json()


private_key = ECKey.generate_key("P-256", private=True).as_dict(private=True)


@pytest.mark.parametrize(("metadata", "error"), [
    ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://app.example/cb#fragment"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["/relative/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["javascript:alert(1)//"]}, "invalid_redirect_uri"),
    ({"redirect_uris": "https://app.example/cb"}, "invalid_redirect_uri"),
    ({"redirect_uris": [CALLBACK], "logo_uri": "http://app.example/logo.png"}, "invalid_client_metadata"),
    ({"redirect_uris": [CALLBACK], "policy_uri": "javascript:alert(1)"}, "invalid_client_metadata"),
    ({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "private_key_jwt",
      "jwks": {"keys": [private_key]}}, "invalid_client_metadata"),
    ({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "tls_client_auth"}, "invalid_client_metadata"),
    ({"redirect_uris": [CALLBACK], "grant_types": ["client_credentials"]}, "invalid_client_metadata"),
    ({"grant_types": ["authorization_code"]}, "invalid_client_metadata"),
    ({"redirect_uris": [CALLBACK], "id_token_signed_response_alg": "none"}, "invalid_client_metadata"),
    (["not", "an", "object"], "invalid_client_metadata"),
    (b"{not json", "invalid_client_metadata"),
])
async def test_hostile_metadata_is_refused(open_server: RunningServer, metadata: Any, error: str) -> None:
    answer = await register(open_server, metadata)
    assert answer.status_code == 400 and answer.json()["error"] == error, answer.text


async def test_an_initial_access_token_is_required_works_once_and_opens_every_grant(
    token_server: RunningServer,
) -> None:
    service = {"grant_types": ["client_credentials"], "scope": "api:read"}
    refused = await register(token_server, service)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    token = initial_token(token_server)
    registered = await register(token_server, service, token)
    assert registered.status_code == 201, registered.text
    again = await register(token_server, service, token)
    assert again.status_code == 401
    body = registered.json()
    async with httpx2.AsyncClient() as http:
        issued = await http.post(f"{token_server.issuer}/token", data={"grant_type": "client_credentials"},
                                 auth=(body["client_id"], body["client_secret"]))
    assert issued.status_code == 200, issued.text


async def test_a_registered_client_reads_updates_and_deletes_itself(open_server: RunningServer) -> None:
    body = (await register(open_server, {"redirect_uris": [CALLBACK], "client_name": "First"})).json()
    uri, token = body["registration_client_uri"], body["registration_access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient() as http:
        read = await http.get(uri, headers=bearer)
        assert read.status_code == 200 and read.json()["client_name"] == "First"
        assert "client_secret" not in read.json()
        wrong = await http.get(uri, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        update = {"client_id": body["client_id"], "redirect_uris": [CALLBACK, "https://registered.example/2"],
                  "client_name": "Second"}
        updated = await http.put(uri, headers=bearer, json=update)
        assert updated.status_code == 200 and updated.json()["client_name"] == "Second"
        widened = await http.put(uri, headers=bearer, json={**update, "grant_types": ["client_credentials"]})
        assert widened.status_code == 400 and widened.json()["error"] == "invalid_client_metadata"
        bad_secret = await http.put(uri, headers=bearer, json={**update, "client_secret": "guess"})
        assert bad_secret.status_code == 400
        deleted = await http.delete(uri, headers=bearer)
        assert deleted.status_code == 204
        assert (await http.get(uri, headers=bearer)).status_code == 401
    async with FormBrowser(open_server.issuer) as browser:
        page = await browser.open(f"/authorize?client_id={body['client_id']}&redirect_uri={CALLBACK}"
                                  "&response_type=code&scope=openid")
    assert page.status_code == 400 and "Unknown application" in page_text(page)


async def test_the_configs_clients_cannot_be_managed(open_server: RunningServer) -> None:
    """Not even with a registration access token that is valid for another client."""
    token = (await register(open_server, {"redirect_uris": [CALLBACK]})).json()["registration_access_token"]
    async with httpx2.AsyncClient() as http:
        for method in ("GET", "PUT", "DELETE"):
            answer = await http.request(method, f"{open_server.issuer}/register/demo-rp",
                                        headers={"Authorization": f"Bearer {token}"},
                                        json={"client_id": "demo-rp"})
            assert answer.status_code == 401, (method, answer.text)
            assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_discovery_names_the_endpoint_only_when_registration_is_on(
    open_server: RunningServer, server: RunningServer,
) -> None:
    async with httpx2.AsyncClient() as http:
        on = (await http.get(f"{open_server.issuer}/.well-known/openid-configuration")).json()
        off = (await http.get(f"{server.issuer}/.well-known/openid-configuration")).json()
        closed = await http.post(f"{server.issuer}/register", json={"redirect_uris": [CALLBACK]})
    assert on["registration_endpoint"] == f"{open_server.issuer}/register"
    assert "registration_endpoint" not in off and closed.status_code == 404
