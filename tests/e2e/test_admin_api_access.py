"""Who may call the admin API: every endpoint refuses a request without a token, a token of
another audience, one without the admin scopes, and (for changes) a read-only token; a
DPoP-bound token needs its proof. The endpoints are walked from the API's own OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from tests.e2e.admin_api import AdminApi
from tests.e2e.server import ADMIN_SECRET, SERVICE_SECRET, RunningServer
from tests.e2e.test_dpop import ath, new_key, proof
from tests.e2e.tokens import signed_in_tokens


@pytest.fixture
async def document(server: RunningServer) -> dict[str, Any]:
    async with httpx2.AsyncClient() as http:
        answer = await http.get(f"{server.issuer}/admin/api/openapi.json")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(method, path with placeholders filled, scopes) of every operation."""
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            filled = re.sub(r"{\w+}", "x", path)
            found.append((method.upper(), filled, operation["security"][0]["oauth2"]))
    return found


@pytest.fixture
async def reader(server: RunningServer) -> AsyncIterator[AdminApi]:
    client = AdminApi(server, "admin-reader")
    yield client
    await client.close()


async def test_the_document_is_openapi_3_1_and_lists_every_endpoint(
    document: dict[str, Any],
) -> None:
    assert document["openapi"] == "3.1.0"
    assert len(operations(document)) >= 30
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert set(flows["clientCredentials"]["scopes"]) == {"gatehouse:admin", "gatehouse:admin:read"}


async def test_no_token_and_another_audiences_token_are_refused_everywhere(
    server: RunningServer, document: dict[str, Any],
) -> None:
    async with httpx2.AsyncClient(base_url=f"{server.issuer}/admin/api") as http:
        service = (await http.post(f"{server.issuer}/token", data={"grant_type": "client_credentials"},
                                   auth=("service", SERVICE_SECRET))).json()
        for method, path, _ in operations(document):
            bare = await http.request(method, path)
            assert bare.status_code == 401, (method, path, bare.text)
            assert bare.headers["www-authenticate"].startswith("Bearer")
            other = await http.request(method, path,
                                       headers={"Authorization": f"Bearer {service['access_token']}"})
            assert other.status_code == 401 and other.json()["error"] == "invalid_token", (method, path)


async def test_a_users_access_token_is_refused(
    server: RunningServer, document: dict[str, Any],
) -> None:
    from tests.e2e.browser import FormBrowser
    browser = FormBrowser(server.issuer)
    _, tokens = await signed_in_tokens(server, browser, "openid")
    await browser.close()
    async with httpx2.AsyncClient(base_url=f"{server.issuer}/admin/api") as http:
        answer = await http.get("/users", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"


async def test_a_token_without_the_admin_scopes_is_refused_everywhere(
    server: RunningServer, document: dict[str, Any],
) -> None:
    no_scope = AdminApi(server, "admin-noscope")
    for method, path, _ in operations(document):
        answer = await no_scope.call(method, path)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"] == "insufficient_scope"
    await no_scope.close()


async def test_a_read_only_token_reads_and_cannot_change_anything(
    reader: AdminApi, document: dict[str, Any],
) -> None:
    assert (await reader.call("GET", "/users")).status_code == 200
    for method, path, scopes in operations(document):
        if scopes == ["gatehouse:admin"]:
            answer = await reader.call(method, path, json={})
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["error"] == "insufficient_scope"
        else:
            assert method == "GET", (method, path)


async def test_a_dpop_bound_token_needs_the_dpop_scheme_and_its_proof(server: RunningServer) -> None:
    key, url = new_key(), f"{server.issuer}/admin/api/users"
    async with httpx2.AsyncClient() as http:
        issued = await http.post(
            f"{server.issuer}/token", auth=("admin-bot", ADMIN_SECRET),
            headers={"DPoP": proof(key, "POST", f"{server.issuer}/token")},
            data={"grant_type": "client_credentials"},
        )
        token = issued.json()["access_token"]
        assert issued.json()["token_type"] == "DPoP"
        as_bearer = await http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert as_bearer.status_code == 401 and as_bearer.json()["error"] == "invalid_token"
        no_proof = await http.get(url, headers={"Authorization": f"DPoP {token}"})
        assert no_proof.status_code == 401 and no_proof.headers["www-authenticate"].startswith("DPoP")
        other_key = await http.get(url, headers={
            "Authorization": f"DPoP {token}",
            "DPoP": proof(new_key(), "GET", url, ath=ath(token)),
        })
        assert other_key.status_code == 401
        proved = await http.get(url, headers={
            "Authorization": f"DPoP {token}", "DPoP": proof(key, "GET", url, ath=ath(token)),
        })
        assert proved.status_code == 200, proved.text
