"""The upstream identity provider of the federated sign-in tests (node-oidc-provider), driven as
a relying party would: authorization code with PKCE, client_secret_basic, ID token verified."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.browser import FormBrowser, redirect_params
from tests.upstream.node_provider import NodeProvider, sign_in_upstream, start_node_provider

CALLBACK = "https://rp.example/cb"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProvider]:
    provider = start_node_provider(Path(tmp_path_factory.mktemp("upstream")), [CALLBACK])
    yield provider
    provider.stop()


@pytest.fixture
async def upstream_browser(upstream: NodeProvider) -> AsyncIterator[FormBrowser]:
    browser = FormBrowser(upstream.issuer)
    yield browser
    await browser.close()


def authorization_url(upstream: NodeProvider, state: str, nonce: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode({
        "client_id": upstream.client_id, "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "openid profile email", "state": state, "nonce": nonce,
        "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
    })
    return f"{upstream.issuer}/auth?{query}", verifier


@pytest.mark.parametrize(
    ("login", "name", "amr"),
    [("alice", "Alice Liddell", ["pwd"]), ("mfa-dora-explorer", "Dora Explorer", ["pwd", "mfa"])],
)
async def test_code_flow_with_pkce_yields_a_verified_id_token(
    upstream: NodeProvider, upstream_browser: FormBrowser, login: str, name: str, amr: list[str]
) -> None:
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    url, verifier = authorization_url(upstream, state, nonce)
    page = await upstream_browser.open(url)
    target, params = redirect_params(await sign_in_upstream(upstream_browser, page, login))
    assert target == CALLBACK
    assert params["state"] == state and params["iss"] == upstream.issuer

    async with httpx2.AsyncClient() as http:
        answer = await http.post(
            f"{upstream.issuer}/token",
            data={"grant_type": "authorization_code", "code": params["code"],
                  "redirect_uri": CALLBACK, "code_verifier": verifier},
            auth=httpx2.BasicAuth(upstream.client_id, upstream.client_secret),
        )
        assert answer.status_code == 200, answer.text
        jwks = (await http.get(f"{upstream.issuer}/jwks")).json()
    token = jwt.decode(answer.json()["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": upstream.issuer},
        aud={"essential": True, "value": upstream.client_id},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True}, iat={"essential": True},
    ).validate(token.claims)
    assert token.claims["sub"] == login
    assert token.claims["amr"] == amr
    assert token.claims["email"] == f"{login}@upstream.example"
    assert token.claims["email_verified"] is True
    assert token.claims["name"] == name


async def test_the_login_name_deny_answers_access_denied(
    upstream: NodeProvider, upstream_browser: FormBrowser
) -> None:
    url, _ = authorization_url(upstream, "s-deny", "n-deny")
    page = await upstream_browser.open(url)
    target, params = redirect_params(await sign_in_upstream(upstream_browser, page, "deny"))
    assert target == CALLBACK
    assert params["error"] == "access_denied"
    assert params["state"] == "s-deny" and params["iss"] == upstream.issuer
    assert "code" not in params
