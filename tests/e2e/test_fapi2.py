"""The FAPI 2.0 Security Profile over HTTP: fapi-app (`profile: fapi2`) signs in with openid-client
through PAR, private_key_jwt (ES256), PKCE and DPoP, and each rule of the profile refuses what
breaks it. docs/conformance.md maps the profile's requirements to these tests."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from core import digest
from server.settings import SettingsError, load_settings
from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import (
    ALICE,
    FAPI_KEY,
    FAPI_RSA_KEY,
    RunningServer,
    client_settings,
    server_store,
    start_server,
)
from tests.e2e.test_dpop import new_key, proof

CALLBACK = "https://fapi.example/cb"
VERIFIER = "a-code-verifier-long-enough-for-pkce-0123456789abcdef"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def header_of(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def fapi_client(server: RunningServer, dpop_key: ECKey) -> OpenIdClient:
    return OpenIdClient(server.issuer, "fapi-app", "private_key_jwt", redirect_uri=CALLBACK,
                        private_jwk=FAPI_KEY.as_dict(private=True),
                        dpop_jwk=dpop_key.as_dict(private=True))


def assertion(server: RunningServer, key: ECKey | RSAKey = FAPI_KEY, alg: str = "ES256") -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": "fapi-app", "sub": "fapi-app", "aud": server.issuer, "iat": now,
              "exp": now + 60, "jti": secrets.token_urlsafe(12)}
    signed = jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}


async def pushed_code(server: RunningServer, **params: str) -> str:
    """A code of fapi-app, through a pushed request and alice's sign-in."""
    form = {"response_type": "code", "redirect_uri": CALLBACK, "scope": "openid", "state": "s",
            "code_challenge_method": "S256", "code_challenge": create_s256_code_challenge(VERIFIER),
            **params, **assertion(server)}
    async with httpx2.AsyncClient() as http:
        pushed = await http.post(f"{server.issuer}/par", data=form)
    assert pushed.status_code == 201, pushed.text
    async with FormBrowser(server.issuer) as browser:
        answer = await browser.sign_in(f"{server.issuer}/authorize?client_id=fapi-app&request_uri="
                                       f"{pushed.json()['request_uri']}", *ALICE)
    return redirect_params(answer)[1]["code"]


async def redeem(server: RunningServer, code: str, client_auth: dict[str, str], *proofs: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{server.issuer}/token", headers=[("DPoP", p) for p in proofs], data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": VERIFIER, **client_auth})


async def test_openid_client_signs_in_under_the_profile(server: RunningServer, browser: FormBrowser) -> None:
    key = new_key()
    rp = fapi_client(server, key)
    started = rp.authorize_with_par(scope="openid offline_access")
    answer = await browser.sign_in(started["url"], *ALICE)
    result = rp.callback(started, answer.headers["location"])  # UserInfo over DPoP too
    tokens = result["tokens"]
    assert tokens["token_type"].lower() == "dpop"
    assert header_of(tokens["id_token"])["alg"] == "ES256"
    assert header_of(tokens["access_token"])["alg"] == "ES256"
    # No rotation: the refresh token keeps working, and no new one comes back.
    for _ in range(2):
        refreshed = rp.call("refresh", refreshToken=tokens["refresh_token"])["tokens"]
        assert "refresh_token" not in refreshed and refreshed["token_type"].lower() == "dpop"


async def test_an_authorization_request_must_be_pushed(server: RunningServer, browser: FormBrowser) -> None:
    answer = await browser.open(
        f"{server.issuer}/authorize?client_id=fapi-app&redirect_uri={CALLBACK}&response_type=code"
        f"&scope=openid&state=s&code_challenge_method=S256"
        f"&code_challenge={create_s256_code_challenge(VERIFIER)}")
    assert redirect_params(answer)[1]["error"] == "invalid_request"


async def test_a_pushed_request_needs_pkce(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        pushed = await http.post(f"{server.issuer}/par", data={
            "response_type": "code", "redirect_uri": CALLBACK, "scope": "openid",
            **assertion(server)})
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_request"


async def test_the_token_endpoint_wants_dpop_and_the_profiles_algorithms(server: RunningServer) -> None:
    code = await pushed_code(server)
    url = f"{server.issuer}/token"
    key = new_key()
    without_proof = await redeem(server, code, assertion(server))
    assert without_proof.json()["error"] == "invalid_dpop_proof"
    rsa = RSAKey.generate_key(2048, private=True)
    rs256_proof = await redeem(server, code, assertion(server), proof(rsa, "POST", url, alg="RS256"))
    assert rs256_proof.json()["error"] == "invalid_dpop_proof"
    rs256_assertion = await redeem(server, code, assertion(server, FAPI_RSA_KEY, "RS256"),
                                   proof(key, "POST", url))
    assert rs256_assertion.status_code == 401 and rs256_assertion.json()["error"] == "invalid_client"
    # None of the refusals spent the code: the right request still redeems it.
    answer = await redeem(server, code, assertion(server), proof(key, "POST", url))
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"


async def test_a_request_object_must_be_signed_with_ps256_or_es256(server: RunningServer) -> None:
    now = int(time.time())
    claims = {"iss": "fapi-app", "aud": server.issuer, "exp": now + 60, "response_type": "code",
              "redirect_uri": CALLBACK, "scope": "openid", "code_challenge_method": "S256",
              "code_challenge": create_s256_code_challenge(VERIFIER)}
    signed = {alg: jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])
              for alg, key in (("RS256", FAPI_RSA_KEY), ("ES256", FAPI_KEY))}
    async with httpx2.AsyncClient() as http:
        answers = {alg: await http.post(f"{server.issuer}/par", data={
            "request": request, **assertion(server)}) for alg, request in signed.items()}
    assert answers["RS256"].json()["error"] == "invalid_request_object"
    assert answers["ES256"].status_code == 201, answers["ES256"].text


def test_settings_refuse_a_client_that_cannot_hold_under_the_profile(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text(
        "issuer: https://login.example\nclients:\n  - client_id: a\n    profile: fapi2\n"
        "    client_secret: a-long-enough-secret-0123456789abcdef\n    redirect_uris: [https://a/cb]\n")
    with pytest.raises(SettingsError, match="private_key_jwt"):
        load_settings(config)
    config.write_text(
        "issuer: https://login.example\nprofile: fapi2\nclients:\n  - client_id: a\n"
        "    token_endpoint_auth_method: none\n    redirect_uris: [https://a/cb]\n")
    with pytest.raises(SettingsError, match="id_token_signed_response_alg must be ES256"):
        load_settings(config)


@pytest.fixture(scope="module")
def fapi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The profile for the whole server, with codes configured to live 10 minutes."""
    workdir = Path(tmp_path_factory.mktemp("fapi2"))
    fapi = [c for c in client_settings("http://unused") if c["client_id"] == "fapi-app"]
    running = start_server(workdir, profile="fapi2", code_lifetime=600, demo=False, clients=fapi)
    yield running
    running.stop()


async def test_server_wide_the_profile_requires_par_and_keeps_codes_short(
    fapi_server: RunningServer,
) -> None:
    async with httpx2.AsyncClient() as http:
        metadata = (await http.get(f"{fapi_server.issuer}/.well-known/openid-configuration")).json()
    assert metadata["require_pushed_authorization_requests"] is True
    code = await pushed_code(fapi_server)
    async with server_store(fapi_server) as store:
        record = await store.codes.get(digest(code), time.time())
    assert record is not None and record.expires_at - time.time() <= 60
