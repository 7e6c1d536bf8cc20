"""DPoP (RFC 9449) over HTTP: openid-client binds its tokens to its key, and hand-made proofs
show each check at the token endpoint and at UserInfo."""

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
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.openid_client import OpenIdClient, RelyingPartyError
from tests.e2e.server import ALICE, SERVICE_SECRET, RunningServer, serve_another, start_server

SERVICE = ("service", SERVICE_SECRET)
VERIFIER = "a-code-verifier-long-enough-for-pkce-0123456789abcdef"


def new_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


def proof(
    key: ECKey | RSAKey | OctKey, htm: str, htu: str, *, alg: str = "ES256", typ: str = "dpop+jwt",
    jwk: dict[str, Any] | None = None, **claims: Any,
) -> str:
    header = {"typ": typ, "alg": alg,
              "jwk": jwk if jwk is not None else key.as_dict(private=False)}
    body = {"jti": secrets.token_urlsafe(12), "htm": htm, "htu": htu, "iat": int(time.time())}
    body.update(claims)
    return jwt.encode(header, {k: v for k, v in body.items() if v is not None}, key, algorithms=[alg])


def ath(token: str) -> str:
    import hashlib
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def service_token(issuer: str, *proofs: str, url: str | None = None) -> httpx2.Response:
    headers = [("DPoP", p) for p in proofs]
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{url or issuer}/token", auth=SERVICE, headers=headers,
                               data={"grant_type": "client_credentials"})


async def test_openid_client_binds_code_refresh_and_userinfo_to_its_key(
    server: RunningServer, browser: FormBrowser,
) -> None:
    key = new_key()
    rp = OpenIdClient(server.issuer, "offline-app", "none", redirect_uri="https://offline.example/cb",
                      dpop_jwk=key.as_dict(private=True))
    started = rp.authorize_with_par(scope="openid offline_access")
    answer = await browser.sign_in(started["url"], *ALICE)
    if not answer.is_redirect:  # offline access is asked for, unless alice agreed before
        answer = await browser.click(answer, ("decision", "allow"))
    result = rp.callback(started, answer.headers["location"])  # with UserInfo, over DPoP
    tokens = result["tokens"]
    assert tokens["token_type"].lower() == "dpop"
    assert claims_of(tokens["access_token"])["cnf"] == {"jkt": key.thumbprint()}
    assert result["userinfo"]["sub"] == result["claims"]["sub"]
    # A public client's refresh token is bound to the key: another key cannot use it (nor burn it).
    thief = OpenIdClient(server.issuer, "offline-app", "none", dpop_jwk=new_key().as_dict(private=True))
    with pytest.raises(RelyingPartyError) as caught:
        thief.call("refresh", refreshToken=tokens["refresh_token"])
    assert caught.value.error["oauth"] == "invalid_grant"
    refreshed = rp.call("refresh", refreshToken=tokens["refresh_token"])["tokens"]
    assert claims_of(refreshed["access_token"])["cnf"] == {"jkt": key.thumbprint()}
    # And as a Bearer token, a bound one is refused.
    async with httpx2.AsyncClient() as http:
        bearer = await http.get(f"{server.issuer}/userinfo",
                                headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert bearer.status_code == 401 and 'error="invalid_token"' in bearer.headers["www-authenticate"]


async def test_a_bound_client_credentials_token_is_introspected_with_its_key(server: RunningServer) -> None:
    key = new_key()
    answer = await service_token(server.issuer, proof(key, "POST", f"{server.issuer}/token"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"
    token = answer.json()["access_token"]
    async with httpx2.AsyncClient() as http:
        seen = await http.post(f"{server.issuer}/introspect", auth=SERVICE, data={"token": token})
    assert seen.json()["token_type"] == "DPoP" and seen.json()["cnf"] == {"jkt": key.thumbprint()}


def broken_proofs(issuer: str) -> dict[str, list[str]]:
    key, url = new_key(), f"{issuer}/token"
    used = proof(key, "POST", url)
    other = new_key()
    secret = OctKey.generate_key(256)
    return {
        "replayed": [used, used],
        "another method": [proof(key, "GET", url)],
        "another endpoint": [proof(key, "POST", f"{issuer}/userinfo")],
        "another server": [proof(key, "POST", "https://other.example/token")],
        "stale": [proof(key, "POST", url, iat=int(time.time()) - 300)],
        "from the future": [proof(key, "POST", url, iat=int(time.time()) + 300)],
        "without jti": [proof(key, "POST", url, jti=None)],
        "signed by another key": [proof(other, "POST", url, jwk=key.as_dict(private=False))],
        "with a private key inside": [proof(key, "POST", url, jwk=key.as_dict(private=True))],
        "of another typ": [proof(key, "POST", url, typ="JWT")],
        "with a symmetric key": [proof(secret, "POST", url, alg="HS256", jwk=secret.as_dict())],
        "unsigned": [jwt.encode({"typ": "dpop+jwt", "alg": "none", "jwk": key.as_dict(private=False)},
                                {"jti": "x", "htm": "POST", "htu": url, "iat": int(time.time())},
                                None, algorithms=["none"])],
        "twice in one request": [proof(key, "POST", url), proof(key, "POST", url)],
        "not a JWT": ["not-a-jwt"],
    }


@pytest.mark.parametrize("case", [
    "replayed", "another method", "another endpoint", "another server", "stale", "from the future",
    "without jti", "signed by another key", "with a private key inside", "of another typ",
    "with a symmetric key", "unsigned", "twice in one request", "not a JWT",
])
async def test_a_bad_proof_is_refused_at_the_token_endpoint(server: RunningServer, case: str) -> None:
    proofs = broken_proofs(server.issuer)[case]
    if case == "replayed":
        assert (await service_token(server.issuer, proofs[0])).status_code == 200
        proofs = proofs[1:]
    answer = await service_token(server.issuer, *proofs)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_dpop_proof", answer.text


async def bound_token(issuer: str, key: ECKey) -> str:
    """A token bound to `key` for UserInfo: alice signs in through dpop-app."""
    async with FormBrowser(issuer) as browser:
        answer = await browser.sign_in(
            f"{issuer}/authorize?client_id=dpop-app&redirect_uri=https://dpop.example/cb"
            f"&response_type=code&scope=openid&code_challenge_method=S256"
            f"&code_challenge={create_s256_code_challenge(VERIFIER)}", *ALICE)
    code = redirect_params(answer)[1]["code"]
    async with httpx2.AsyncClient() as http:
        answer = await http.post(f"{issuer}/token", headers={"DPoP": proof(key, "POST", f"{issuer}/token")}, data={
            "grant_type": "authorization_code", "client_id": "dpop-app", "code": code,
            "redirect_uri": "https://dpop.example/cb", "code_verifier": VERIFIER})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def test_userinfo_wants_the_proof_of_the_tokens_key(server: RunningServer) -> None:
    key = new_key()
    token = await bound_token(server.issuer, key)
    url = f"{server.issuer}/userinfo"

    async def userinfo(scheme: str, *proofs: str) -> httpx2.Response:
        headers = [("Authorization", f"{scheme} {token}"), *(("DPoP", p) for p in proofs)]
        async with httpx2.AsyncClient() as http:
            return await http.get(url, headers=headers)

    good = await userinfo("DPoP", proof(key, "GET", url, ath=ath(token)))
    assert good.status_code == 200 and good.json()["sub"]
    for refused in [
        await userinfo("DPoP"),  # no proof
        await userinfo("DPoP", proof(key, "GET", url)),  # no ath
        await userinfo("DPoP", proof(key, "GET", url, ath=ath("another token"))),
        await userinfo("DPoP", proof(new_key(), "GET", url, ath=ath(token))),  # another key
        await userinfo("DPoP", proof(key, "POST", url, ath=ath(token))),
    ]:
        assert refused.status_code == 401, refused.text
        challenge = refused.headers["www-authenticate"]
        assert challenge.startswith("DPoP ") and 'error="invalid_dpop_proof"' in challenge
        assert 'algs="ES256 PS256 RS256"' in challenge


async def test_a_client_registered_for_dpop_must_prove_a_key(server: RunningServer) -> None:
    async with FormBrowser(server.issuer) as browser:
        answer = await browser.sign_in(
            f"{server.issuer}/authorize?client_id=dpop-app&redirect_uri=https://dpop.example/cb"
            f"&response_type=code&scope=openid&code_challenge_method=S256"
            f"&code_challenge={create_s256_code_challenge(VERIFIER)}", *ALICE)
    async with httpx2.AsyncClient() as http:
        refused = await http.post(f"{server.issuer}/token", data={
            "grant_type": "authorization_code", "client_id": "dpop-app",
            "code": redirect_params(answer)[1]["code"], "redirect_uri": "https://dpop.example/cb",
            "code_verifier": VERIFIER})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"


async def test_dpop_jkt_binds_the_code_to_one_key(server: RunningServer) -> None:
    key = new_key()
    codes = []
    for _ in range(2):
        async with FormBrowser(server.issuer) as browser:
            answer = await browser.sign_in(
                f"{server.issuer}/authorize?client_id=public-app&redirect_uri=https://spa.example/callback"
                f"&response_type=code&scope=openid&code_challenge_method=S256&dpop_jkt={key.thumbprint()}"
                f"&code_challenge={create_s256_code_challenge(VERIFIER)}", *ALICE)
        codes.append(redirect_params(answer)[1]["code"])

    async def redeem(code: str, signer: ECKey | None) -> httpx2.Response:
        headers = {"DPoP": proof(signer, "POST", f"{server.issuer}/token")} if signer else {}
        async with httpx2.AsyncClient() as http:
            return await http.post(f"{server.issuer}/token", headers=headers, data={
                "grant_type": "authorization_code", "client_id": "public-app", "code": code,
                "redirect_uri": "https://spa.example/callback", "code_verifier": VERIFIER})

    for refused in (await redeem(codes[0], new_key()),):
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    bound = await redeem(codes[1], key)
    assert bound.status_code == 200 and bound.json()["token_type"] == "DPoP"


async def test_a_malformed_dpop_jkt_is_refused(server: RunningServer, browser: FormBrowser) -> None:
    answer = await browser.open(
        f"{server.issuer}/authorize?client_id=public-app&redirect_uri=https://spa.example/callback"
        f"&response_type=code&scope=openid&code_challenge_method=S256&dpop_jkt=short"
        f"&code_challenge={create_s256_code_challenge(VERIFIER)}")
    assert redirect_params(answer)[1]["error"] == "invalid_request"


async def test_discovery_lists_the_proof_algorithms(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        metadata = (await http.get(f"{server.issuer}/.well-known/openid-configuration")).json()
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "RS256"]


@pytest.fixture(scope="module")
def nonce_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Proofs must carry the server's nonce; a second process shares its store."""
    running = start_server(Path(tmp_path_factory.mktemp("dpop")), dpop_nonces=True)
    yield running
    running.stop()


async def test_with_nonces_a_proof_must_carry_the_servers(nonce_server: RunningServer) -> None:
    key, url = new_key(), f"{nonce_server.issuer}/token"
    asked = await service_token(nonce_server.issuer, proof(key, "POST", url))
    assert asked.status_code == 400 and asked.json()["error"] == "use_dpop_nonce"
    nonce = asked.headers["dpop-nonce"]
    stale = await service_token(nonce_server.issuer, proof(key, "POST", url, nonce="made-up"))
    assert stale.json()["error"] == "use_dpop_nonce"
    answer = await service_token(nonce_server.issuer, proof(key, "POST", url, nonce=nonce))
    assert answer.status_code == 200 and answer.headers["dpop-nonce"]


async def test_openid_client_follows_the_nonce(nonce_server: RunningServer) -> None:
    rp = OpenIdClient(nonce_server.issuer, "service", secret=SERVICE_SECRET,
                      dpop_jwk=new_key().as_dict(private=True))
    assert rp.call("clientCredentials")["token_type"].lower() == "dpop"


async def test_a_proof_used_at_one_worker_is_refused_at_another(
    nonce_server: RunningServer, tmp_path: Path,
) -> None:
    other = serve_another(nonce_server, tmp_path)
    try:
        key, url = new_key(), f"{nonce_server.issuer}/token"
        nonce = (await service_token(nonce_server.issuer, proof(key, "POST", url))).headers["dpop-nonce"]
        used = proof(key, "POST", url, nonce=nonce)
        assert (await service_token(nonce_server.issuer, used)).status_code == 200
        again = await service_token(nonce_server.issuer, used, url=f"http://127.0.0.1:{other.port}")
        assert again.status_code == 400 and again.json()["error"] == "invalid_dpop_proof"
    finally:
        other.stop()


async def test_a_proof_sent_with_a_pushed_request_binds_its_code(server: RunningServer) -> None:
    key, par = new_key(), f"{server.issuer}/par"
    async with httpx2.AsyncClient() as http:
        pushed = await http.post(par, headers={"DPoP": proof(key, "POST", par)}, data={
            "client_id": "public-app", "response_type": "code", "scope": "openid",
            "redirect_uri": "https://spa.example/callback", "code_challenge_method": "S256",
            "code_challenge": create_s256_code_challenge(VERIFIER)})
        assert pushed.status_code == 201, pushed.text
        mismatched = await http.post(par, headers={"DPoP": proof(key, "POST", par)}, data={
            "client_id": "public-app", "response_type": "code", "scope": "openid",
            "redirect_uri": "https://spa.example/callback", "dpop_jkt": new_key().thumbprint(),
            "code_challenge_method": "S256", "code_challenge": create_s256_code_challenge(VERIFIER)})
        assert mismatched.json()["error"] == "invalid_dpop_proof"
    async with FormBrowser(server.issuer) as browser:
        answer = await browser.sign_in(f"{server.issuer}/authorize?client_id=public-app&request_uri="
                                       f"{pushed.json()['request_uri']}", *ALICE)
    code = redirect_params(answer)[1]["code"]
    url = f"{server.issuer}/token"
    async with httpx2.AsyncClient() as http:
        stolen = await http.post(url, headers={"DPoP": proof(new_key(), "POST", url)}, data={
            "grant_type": "authorization_code", "client_id": "public-app", "code": code,
            "redirect_uri": "https://spa.example/callback", "code_verifier": VERIFIER})
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
