"""Signed request objects (JAR, RFC 9101) over HTTP: openid-client signs them, by value and
pushed, and every rule of their checking holds against hand-made ones."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, JAR_EC_KEY, JAR_RSA_KEY, RunningServer
from tests.e2e.test_private_key_jwt import jwt_client

JAR_APP = ("jar-app", "https://jar.example/cb", JAR_EC_KEY, "ES256")
JAR_OPEN = ("jar-open", "https://jar-open.example/cb", JAR_RSA_KEY, "PS256")
VERIFIER = "a-code-verifier-long-enough-for-pkce-0123456789abcdef"


def request_claims(server: RunningServer, sender: str, redirect_uri: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": sender, "aud": server.issuer, "exp": now + 300, "nbf": now,
              "client_id": sender, "response_type": "code", "redirect_uri": redirect_uri,
              "scope": "openid", "state": "inner-state", "nonce": "n",
              "code_challenge": create_s256_code_challenge(VERIFIER),
              "code_challenge_method": "S256"}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def signed(claims: dict[str, Any], key: ECKey | RSAKey, alg: str) -> str:
    header = {"alg": alg, "kid": key.kid, "typ": "oauth-authz-req+jwt"}
    return jwt.encode(header, claims, key, algorithms=[alg])


def authorize_url(server: RunningServer, client_id: str, request: str, **outside: str) -> str:
    return f"{server.issuer}/authorize?" + urlencode({"client_id": client_id, "request": request, **outside})


@pytest.mark.parametrize("pushed", [False, True])
async def test_openid_client_signs_its_request(
    server: RunningServer, browser: FormBrowser, pushed: bool
) -> None:
    rp = jwt_client(server)
    started = rp.authorize_with_jar(pushed=pushed)
    _, query = redirect_params(httpx2.Response(302, headers={"location": started["url"]}))
    assert set(query) == ({"client_id", "request_uri"} if pushed else {"client_id", "request"})
    answer = await browser.sign_in(started["url"], *ALICE)
    result = rp.callback(started, answer.headers["location"])
    assert result["claims"]["nonce"] == started["nonce"]


@pytest.mark.parametrize("client", [JAR_APP, JAR_OPEN], ids=["ES256", "PS256"])
async def test_only_the_parameters_inside_count(
    server: RunningServer, browser: FormBrowser, client: tuple[str, str, ECKey | RSAKey, str]
) -> None:
    client_id, redirect_uri, key, alg = client
    request = signed(request_claims(server, client_id, redirect_uri), key, alg)
    answer = await browser.sign_in(authorize_url(
        server, client_id, request, state="outside", redirect_uri="https://evil.example/cb",
        scope="openid profile"), *ALICE)
    target, query = redirect_params(answer)
    assert (target, query["state"]) == (redirect_uri, "inner-state")
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        token = await http.post("/token", data={
            "grant_type": "authorization_code", "code": query["code"], "client_id": client_id,
            "redirect_uri": redirect_uri, "code_verifier": VERIFIER})
    assert token.status_code == 200 and token.json()["scope"] == "openid"


def broken_requests(server: RunningServer) -> dict[str, str]:
    """Request objects of jar-app (ES256 only) that must each be refused."""
    client_id, redirect_uri, key, alg = JAR_APP
    now = int(time.time())

    def claims(**changes: Any) -> dict[str, Any]:
        return request_claims(server, client_id, redirect_uri, **changes)

    other_key = ECKey.generate_key("P-256", parameters={"kid": JAR_EC_KEY.kid}, private=True)
    return {
        "unsigned": jwt.encode({"alg": "none"}, claims(), None, algorithms=["none"]),
        "not its registered alg": signed(claims(), JAR_RSA_KEY, "RS256"),
        "another key": signed(claims(), other_key, alg),
        "expired": signed(claims(exp=now - 60), key, alg),
        "without exp": signed(claims(exp=None), key, alg),
        "living too long": signed(claims(exp=now + 7200), key, alg),
        "not valid yet": signed(claims(nbf=now + 600), key, alg),
        "for another server": signed(claims(aud="https://other.example"), key, alg),
        "from another client": signed(claims(iss="jar-open"), key, alg),
        "naming another client": signed(claims(client_id="jar-open"), key, alg),
        "holding a request_uri": signed(claims(request_uri="https://evil.example/r"), key, alg),
        "with a list for a parameter": signed(claims(scope=["openid"]), key, alg),
        "not a JWT": "not-a-jwt",
    }


CASES = [
    "unsigned", "not its registered alg", "another key", "expired", "without exp",
    "living too long", "not valid yet", "for another server", "from another client",
    "naming another client", "holding a request_uri", "with a list for a parameter", "not a JWT",
]


@pytest.mark.parametrize("case", CASES)
async def test_a_bad_request_object_is_refused_at_the_redirect_uri_outside_it(
    server: RunningServer, browser: FormBrowser, case: str
) -> None:
    client_id, redirect_uri, _, _ = JAR_APP
    request = broken_requests(server)[case]
    answer = await browser.open(authorize_url(
        server, client_id, request, redirect_uri=redirect_uri, state="outside"))
    target, query = redirect_params(answer)
    assert (target, query["error"], query["state"]) == (redirect_uri, "invalid_request_object", "outside")


async def test_a_request_object_over_32_kib_is_refused(server: RunningServer, browser: FormBrowser) -> None:
    """Posted to /authorize (a URL that long is refused before, 431): the body may hold it."""
    client_id, redirect_uri, key, alg = JAR_APP
    request = signed(request_claims(server, client_id, redirect_uri, filler="x" * 33_000), key, alg)
    answer = await browser.http.post(f"{server.issuer}/authorize", data={
        "client_id": client_id, "request": request, "redirect_uri": redirect_uri})
    assert redirect_params(answer)[1]["error"] == "invalid_request_object"


async def test_without_a_registered_redirect_uri_outside_the_refusal_is_a_page(
    server: RunningServer, browser: FormBrowser,
) -> None:
    page = await browser.open(authorize_url(server, "jar-app", broken_requests(server)["expired"]))
    assert page.status_code == 400 and "Invalid redirect URI" in page_text(page)


async def test_a_client_without_keys_cannot_send_request_objects(
    server: RunningServer, browser: FormBrowser,
) -> None:
    request = signed(request_claims(server, "demo-rp", "https://rp.example/callback"),
                     JAR_EC_KEY, "ES256")
    answer = await browser.open(authorize_url(
        server, "demo-rp", request, redirect_uri="https://rp.example/callback"))
    assert redirect_params(answer)[1]["error"] == "invalid_request_object"


async def test_a_deeply_nested_request_object_gets_a_clean_refusal(
    server: RunningServer, browser: FormBrowser,
) -> None:
    client_id, redirect_uri, key, alg = JAR_OPEN
    claims = json.dumps(request_claims(server, client_id, redirect_uri))
    deep = claims[:-1] + ', "claims": ' + '{"a": ' * 3000 + "{}" + "}" * 3000 + "}"
    request = jws.serialize_compact({"alg": alg, "kid": key.kid}, deep.encode(), key, algorithms=[alg])
    answer = await browser.open(authorize_url(server, client_id, request, redirect_uri=redirect_uri))
    assert redirect_params(answer)[1]["error"] in ("invalid_request_object", "invalid_request")


async def test_a_request_object_can_be_pushed(server: RunningServer, browser: FormBrowser) -> None:
    claims = request_claims(server, "demo-rp", "https://rp.example/callback")
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        refused = await http.post("/par", auth=("demo-rp", CONFIDENTIAL_SECRET), data={
            "request": signed(claims, JAR_EC_KEY, "ES256")})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request_object"
        client_id, redirect_uri, key, alg = JAR_APP
        pushed = await http.post("/par", data={
            "client_id": client_id,
            "request": signed(request_claims(server, client_id, redirect_uri), key, alg)})
    assert pushed.status_code == 201, pushed.text
    answer = await browser.sign_in(
        f"{server.issuer}/authorize?" + urlencode(
            {"client_id": client_id, "request_uri": pushed.json()["request_uri"]}), *ALICE)
    target, query = redirect_params(answer)
    assert (target, query["state"]) == (redirect_uri, "inner-state")


async def test_discovery_says_request_objects_are_taken(server: RunningServer) -> None:
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_object_signing_alg_values_supported"] == ["RS256", "PS256", "ES256"]
    assert metadata["request_uri_parameter_supported"] is False
