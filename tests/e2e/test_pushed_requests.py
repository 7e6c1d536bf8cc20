"""Pushed authorization requests (RFC 9126) over HTTP: openid-client pushes and signs in, and the
endpoint's rules hold against direct requests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.openid_client import OpenIdClient, RelyingPartyError
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, POST_SECRET, RunningServer, start_server
from tests.e2e.test_openid_client import clients
from tests.e2e.test_private_key_jwt import jwt_client

URN = "urn:ietf:params:oauth:request_uri:"
CALLBACK = "https://rp.example/callback"
VERIFIER = "a-code-verifier-long-enough-for-pkce-0123456789abcdef"


def request_params(**extra: str) -> dict[str, str]:
    return {"response_type": "code", "redirect_uri": CALLBACK, "scope": "openid",
            "state": "pushed-state", "nonce": "n", "code_challenge_method": "S256",
            "code_challenge": create_s256_code_challenge(VERIFIER), **extra}


async def push(issuer: str, auth: tuple[str, str] | None = ("demo-rp", CONFIDENTIAL_SECRET),
               **params: str) -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=issuer) as http:
        return await http.post("/par", data=params, auth=auth)


async def pushed_uri(issuer: str, **extra: str) -> str:
    response = await push(issuer, **request_params(**extra))
    assert response.status_code == 201, response.text
    return str(response.json()["request_uri"])


@pytest.mark.parametrize(
    "auth", ["client_secret_basic", "client_secret_post", "none", "private_key_jwt"])
async def test_openid_client_signs_in_through_a_pushed_request(
    server: RunningServer, browser: FormBrowser, auth: str
) -> None:
    rp = jwt_client(server) if auth == "private_key_jwt" else clients(server)[auth]
    started = rp.authorize_with_par()
    _, query = redirect_params(httpx2.Response(302, headers={"location": started["url"]}))
    assert set(query) == {"client_id", "request_uri"} and query["request_uri"].startswith(URN)
    answer = await browser.sign_in(started["url"], *ALICE)
    result = rp.callback(started, answer.headers["location"])
    assert result["claims"]["nonce"] == started["nonce"]
    assert result["userinfo"]["sub"] == result["claims"]["sub"]


async def test_the_answer_is_a_fresh_urn_that_is_not_cached(server: RunningServer) -> None:
    answers = [await push(server.issuer, **request_params()) for _ in range(2)]
    for response in answers:
        assert response.status_code == 201
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["expires_in"] == 60
        reference = response.json()["request_uri"].removeprefix(URN)
        assert len(reference) >= 43  # 256 random bits, base64url
    assert answers[0].json()["request_uri"] != answers[1].json()["request_uri"]


async def test_a_request_uri_is_used_once(server: RunningServer, browser: FormBrowser) -> None:
    request_uri = await pushed_uri(server.issuer)
    url = f"{server.issuer}/authorize?client_id=demo-rp&request_uri={request_uri}"
    page = await browser.open(url)
    assert page.status_code == 200 and 'name="login"' in page.text
    async with FormBrowser(server.issuer) as other:
        again = await other.open(url)
    assert again.status_code == 400
    assert "This sign-in link has expired" in page_text(again)


async def test_only_the_client_that_pushed_can_use_it(server: RunningServer, browser: FormBrowser) -> None:
    request_uri = await pushed_uri(server.issuer)
    stolen = await browser.open(
        f"{server.issuer}/authorize?client_id=post-client&request_uri={request_uri}")
    assert stolen.status_code == 400 and "has expired" in page_text(stolen)
    # Not burnt by the attempt: the client that pushed it still signs in with it.
    async with FormBrowser(server.issuer) as other:
        answer = await other.sign_in(
            f"{server.issuer}/authorize?client_id=demo-rp&request_uri={request_uri}", *ALICE)
    target, query = redirect_params(answer)
    assert target == CALLBACK and "code" in query


async def test_only_the_pushed_parameters_count(server: RunningServer, browser: FormBrowser) -> None:
    request_uri = await pushed_uri(server.issuer)
    answer = await browser.sign_in(
        f"{server.issuer}/authorize?client_id=demo-rp&request_uri={request_uri}"
        "&redirect_uri=https://other.example/cb&state=changed&scope=openid+email", *ALICE)
    target, query = redirect_params(answer)
    assert target == CALLBACK and query["state"] == "pushed-state"
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        token = await http.post("/token", auth=("demo-rp", CONFIDENTIAL_SECRET), data={
            "grant_type": "authorization_code", "code": query["code"], "redirect_uri": CALLBACK,
            "code_verifier": VERIFIER})
    assert token.status_code == 200 and token.json()["scope"] == "openid"


async def test_a_request_uri_from_elsewhere_stays_refused(server: RunningServer, browser: FormBrowser) -> None:
    answer = await browser.open(
        f"{server.issuer}/authorize?client_id=demo-rp&redirect_uri={CALLBACK}&response_type=code"
        "&scope=openid&request_uri=https://attacker.example/request.jwt")
    _, query = redirect_params(answer)
    assert query["error"] == "request_uri_not_supported"


@pytest.mark.parametrize(("auth", "form"), [
    (None, {"client_id": "demo-rp"}),
    (("demo-rp", "a-wrong-secret-0123456789abcdef0123456789"), {}),
    (None, {"client_id": "post-client", "client_secret": "wrong"}),
    (("post-client", POST_SECRET), {}),  # registered for client_secret_post, not Basic
])
async def test_pushing_needs_the_client_authentication_of_the_token_endpoint(
    server: RunningServer, auth: tuple[str, str] | None, form: dict[str, str]
) -> None:
    response = await push(server.issuer, auth, **request_params(**form))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_a_public_client_pushes_with_its_client_id(server: RunningServer) -> None:
    response = await push(server.issuer, None, **request_params(
        client_id="public-app", redirect_uri="https://spa.example/callback"))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("params", "error"), [
    ({"redirect_uri": "https://rp.example/other"}, "invalid_request"),
    ({"request_uri": URN + "nested"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": "profile"}, "invalid_scope"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "invalid_request_object"),
])
async def test_a_pushed_request_is_checked_as_the_authorization_endpoint_checks_it(
    server: RunningServer, params: dict[str, str], error: str
) -> None:
    response = await push(server.issuer, **request_params(**params))
    assert response.status_code == 400 and response.json()["error"] == error, response.text
    assert response.headers["cache-control"] == "no-store"


async def test_the_endpoint_takes_only_posts(server: RunningServer) -> None:
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        response = await http.get("/par", params=request_params(client_id="public-app"))
    assert response.status_code == 405


async def test_a_client_registered_to_push_must_push(server: RunningServer, browser: FormBrowser) -> None:
    redirect = "https://par.example/cb"
    plain = await browser.open(
        f"{server.issuer}/authorize?client_id=par-app&redirect_uri={redirect}&response_type=code"
        f"&scope=openid&state=s&code_challenge_method=S256"
        f"&code_challenge={create_s256_code_challenge(VERIFIER)}")
    target, query = redirect_params(plain)
    assert (target, query["error"], query["state"]) == (redirect, "invalid_request", "s")
    rp = OpenIdClient(server.issuer, "par-app", "none", redirect_uri=redirect)
    started = rp.authorize_with_par()
    answer = await browser.sign_in(started["url"], *ALICE)
    assert rp.callback(started, answer.headers["location"])["claims"]["sub"]


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Every client must push, and a pushed request lives 5 seconds."""
    running = start_server(Path(tmp_path_factory.mktemp("par")),
                           require_pushed_authorization_requests=True, pushed_request_lifetime=5)
    yield running
    running.stop()


async def test_a_server_that_requires_pushing_says_so_and_refuses_the_rest(
    strict_server: RunningServer,
) -> None:
    async with httpx2.AsyncClient(base_url=strict_server.issuer) as http:
        metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert metadata["require_pushed_authorization_requests"] is True
    assert metadata["pushed_authorization_request_endpoint"] == f"{strict_server.issuer}/par"
    rp = clients(strict_server)["client_secret_basic"]
    started = rp.authorize()
    async with FormBrowser(strict_server.issuer) as browser:
        refused = await browser.open(started["url"])
        with pytest.raises(RelyingPartyError) as caught:
            rp.callback(started, refused.headers["location"])
        assert caught.value.error["oauth"] == "invalid_request"
        pushed = rp.authorize_with_par()
        answer = await browser.sign_in(pushed["url"], *ALICE)
    assert rp.callback(pushed, answer.headers["location"])["claims"]["sub"]


async def test_a_pushed_request_expires(strict_server: RunningServer) -> None:
    request_uri = await pushed_uri(strict_server.issuer)
    await asyncio.sleep(5.5)
    async with FormBrowser(strict_server.issuer) as browser:
        page = await browser.open(
            f"{strict_server.issuer}/authorize?client_id=demo-rp&request_uri={request_uri}")
    assert page.status_code == 400 and "has expired" in page_text(page)


async def test_the_default_server_advertises_the_endpoint_without_requiring_it(
    server: RunningServer,
) -> None:
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert metadata["pushed_authorization_request_endpoint"] == f"{server.issuer}/par"
    assert metadata["require_pushed_authorization_requests"] is False
