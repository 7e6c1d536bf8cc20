"""The relying-party side of federation against a scripted provider (an httpx mock transport):
every check of the authorization response, the ID token (OIDC Core §3.1.3.7) and UserInfo
(§5.3.4) turns a bad answer into an `UpstreamError`, never a sign-in."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from core import OutboundHttp
from federation.config import UpstreamProviderSettings
from federation.oidc_upstream import OidcUpstream
from federation.upstream import Attempt, UpstreamError

ISSUER = "https://idp.example"
CLIENT_ID = "gatehouse"
SECRET = "upstream-secret-0123456789abcdefghijklmnop"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"}, private=True)
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"}, private=True)


@dataclass
class FakeProvider:
    """A provider whose answers the test may spoil one at a time."""

    id_claims: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=lambda: {"alg": "RS256", "kid": "k1"})
    signing_key: Any = field(default_factory=lambda: KEY)
    userinfo: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    token_status: int = 200
    token_extra: dict[str, Any] = field(default_factory=dict)
    userinfo_body: bytes | None = None
    requests: list[httpx2.Request] = field(default_factory=list)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx2.Response(200, json={
                "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth",
                "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks",
                "userinfo_endpoint": f"{ISSUER}/me",
                "authorization_response_iss_parameter_supported": True, **self.metadata,
            })
        if path == "/jwks":
            return httpx2.Response(200, json={"keys": [KEY.as_dict(private=False)]})
        if path == "/token":
            form = parse_qs(request.content.decode())
            assert form["code_verifier"] == ["verifier-" + "v" * 50]
            if self.token_status == 400:
                return httpx2.Response(400, json={"error": "invalid_grant"})
            if self.token_status != 200:
                return httpx2.Response(self.token_status, text="<h1>Bad gateway</h1>")
            id_token = jwt.encode(self.header, self.claims(), self.signing_key)
            return httpx2.Response(200, json={
                "access_token": "at", "token_type": "Bearer", "id_token": id_token,
                **self.token_extra,
            })
        if path == "/me":
            assert request.headers["authorization"] == "Bearer at"
            if self.userinfo_body is not None:
                return httpx2.Response(200, content=self.userinfo_body)
            return httpx2.Response(200, json=self.userinfo or {"sub": "u-1", "name": "Upstream Ann"})
        return httpx2.Response(404)

    def claims(self) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": ISSUER, "aud": CLIENT_ID, "sub": "u-1", "iat": now, "exp": now + 300,
                "nonce": "the-nonce", "amr": ["pwd", "mfa"], **self.id_claims}


@dataclass(frozen=True)
class ScriptedOutbound(OutboundHttp):
    handler: Callable[[httpx2.Request], httpx2.Response] | None = None

    def transport(self) -> httpx2.MockTransport:  # type: ignore[override]
        assert self.handler is not None
        return httpx2.MockTransport(self.handler)


def upstream(provider: FakeProvider) -> OidcUpstream:
    settings = UpstreamProviderSettings(
        id="idp", issuer=ISSUER, client_id=CLIENT_ID, client_secret=SECRET, name="IdP"
    )
    return OidcUpstream(settings, "https://gatehouse.example/federation/idp/callback",
                    ScriptedOutbound(handler=provider.handle))


ATTEMPT = Attempt("run.state", "the-nonce", "verifier-" + "v" * 50)


async def finish(provider: FakeProvider, **params: str) -> Any:
    return await upstream(provider).finish({"code": "c", "iss": ISSUER, **params}, ATTEMPT)


async def test_the_authorization_url_carries_pkce_state_nonce_and_scopes() -> None:
    url = await upstream(FakeProvider()).authorization_url(ATTEMPT, login_hint="ann")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/auth"
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "https://gatehouse.example/federation/idp/callback"
    assert query["state"] == "run.state" and query["nonce"] == "the-nonce"
    assert query["scope"] == "openid profile email" and query["login_hint"] == "ann"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43


async def test_a_good_response_gives_the_id_token_and_userinfo_claims() -> None:
    provider = FakeProvider()
    identity = await finish(provider)
    assert identity.subject == "u-1" and identity.provider == "idp"
    assert identity.claims["name"] == "Upstream Ann" and identity.amr == ["pwd", "mfa"]
    token_request = next(r for r in provider.requests if r.url.path == "/token")
    assert token_request.headers["authorization"].startswith("Basic ")  # client_secret_basic


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"id_claims": {"nonce": "another"}}, "nonce"),
        ({"id_claims": {"aud": "someone-else"}}, "aud"),
        ({"id_claims": {"iss": "https://evil.example"}}, "iss"),
        ({"id_claims": {"exp": int(time.time()) - 3600}}, "expired"),
        ({"id_claims": {"aud": [CLIENT_ID, "other"]}}, "azp"),
        ({"signing_key": OTHER_KEY}, "not valid"),
        # A symmetric algorithm keyed with the client secret is refused: only the provider signs.
        ({"header": {"alg": "HS256"}, "signing_key": OctKey.import_key(SECRET)}, "not valid"),
        ({"userinfo": {"sub": "someone-else", "name": "Mallory"}}, "UserInfo"),
        ({"token_status": 400}, "token request"),
        ({"token_status": 502}, "token request"),
        ({"metadata": {"issuer": "https://evil.example"}}, "issuer"),
        # Odd answers are failures, never exceptions that escape (a 500).
        ({"metadata": {"id_token_signing_alg_values_supported": 5}}, "not a list"),
        # Only symmetric algorithms offered: an empty list must not mean the library's defaults.
        ({"metadata": {"id_token_signing_alg_values_supported": ["HS256"]},
          "header": {"alg": "HS256"}, "signing_key": OctKey.import_key(SECRET)}, "none of"),
        ({"token_extra": {"token_type": "DPoP"}}, "token"),
        ({"token_extra": {"access_token": None}}, "token"),
        ({"token_extra": {"expires_in": -5}}, ""),
        ({"userinfo_body": b"[" * 100_000 + b"]" * 100_000}, "UserInfo"),
        ({"userinfo_body": b"not json"}, "UserInfo"),
    ],
)
async def test_a_spoiled_answer_is_refused(spoil: dict[str, Any], reason: str) -> None:
    with pytest.raises(UpstreamError) as raised:
        await finish(FakeProvider(**spoil))
    assert reason.lower() in raised.value.reason.lower()
    assert not raised.value.denied


async def test_an_id_token_without_signature_is_refused() -> None:
    provider = FakeProvider()
    unsigned = provider.handle  # answer the token request with an alg=none token

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path != "/token":
            return unsigned(request)
        header = json.dumps({"alg": "none"}).encode()
        body = json.dumps(provider.claims()).encode()
        from joserfc.util import urlsafe_b64encode

        token = f"{urlsafe_b64encode(header).decode()}.{urlsafe_b64encode(body).decode()}."
        return httpx2.Response(200, json={"access_token": "at", "token_type": "Bearer",
                                          "id_token": token})

    provider.handle = handle  # type: ignore[method-assign]
    with pytest.raises(UpstreamError, match="not valid"):
        await finish(provider)


async def test_the_iss_parameter_must_name_the_provider_rfc9207() -> None:
    provider = FakeProvider()
    with pytest.raises(UpstreamError, match="issuer"):
        await finish(provider, iss="https://evil.example")
    with pytest.raises(UpstreamError, match="no iss"):  # the provider promises to send it
        await upstream(provider).finish({"code": "c"}, ATTEMPT)
    assert all(r.url.path != "/token" for r in provider.requests)  # checked before the code is used


async def test_access_denied_is_a_cancellation_and_fetches_no_token() -> None:
    provider = FakeProvider()
    with pytest.raises(UpstreamError) as raised:
        await upstream(provider).finish({"error": "access_denied", "iss": ISSUER}, ATTEMPT)
    assert raised.value.denied
    assert all(r.url.path != "/token" for r in provider.requests)


async def test_an_unreachable_provider_is_an_upstream_error() -> None:
    def down(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    settings = UpstreamProviderSettings(
        id="idp", issuer=ISSUER, client_id=CLIENT_ID, client_secret=SECRET, name="IdP"
    )
    gone = OidcUpstream(settings, "https://g.example/cb", ScriptedOutbound(handler=down))
    with pytest.raises(UpstreamError, match="cannot read"):
        await gone.authorization_url(ATTEMPT)


async def test_a_fresh_sign_in_asked_of_us_is_asked_of_the_provider() -> None:
    fresh = Attempt("run.state", "the-nonce", "verifier-" + "v" * 50, max_age=60)
    url = await upstream(FakeProvider()).authorization_url(fresh, login=True)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["prompt"] == "login" and query["max_age"] == "60"
    plain = await upstream(FakeProvider()).authorization_url(ATTEMPT)
    assert "prompt" not in parse_qs(urlsplit(plain).query)
    assert "max_age" not in parse_qs(urlsplit(plain).query)


@pytest.mark.parametrize(("age", "accepted"), [(None, False), (3600, False), (10, True)])
async def test_with_max_age_the_id_token_must_say_a_recent_auth_time(
    age: int | None, accepted: bool
) -> None:
    provider = FakeProvider(
        id_claims={} if age is None else {"auth_time": int(time.time()) - age}
    )
    fresh = Attempt("run.state", "the-nonce", "verifier-" + "v" * 50, max_age=60)
    if accepted:
        assert (await upstream(provider).finish({"code": "c", "iss": ISSUER}, fresh)).subject == "u-1"
    else:
        with pytest.raises(UpstreamError, match="auth_time|max_age"):
            await upstream(provider).finish({"code": "c", "iss": ISSUER}, fresh)


@pytest.mark.parametrize(
    ("claims", "admitted"),
    [
        ({"hd": "example.com", "groups": ["staff", "x"]}, True),
        ({"hd": "example.com", "groups": ["admins"]}, True),
        ({"hd": "example.com", "groups": "staff"}, True),
        ({"hd": "evil.example", "groups": ["staff"]}, False),
        ({"groups": ["staff"]}, False),  # a required claim missing
        ({"hd": "example.com", "groups": []}, False),
        ({"hd": ["example.com"], "groups": ["staff"]}, True),
        ({"hd": {"example.com": 1}, "groups": ["staff"]}, False),  # not a string
    ],
)
def test_required_claims_admit_only_accounts_that_assert_them(
    claims: dict[str, Any], admitted: bool
) -> None:
    settings = UpstreamProviderSettings(
        id="idp", issuer=ISSUER, client_id=CLIENT_ID, client_secret=SECRET, name="IdP",
        required_claims={"hd": "example.com", "groups": ["staff", "admins"]},
    )
    assert settings.admits(claims) is admitted
    assert UpstreamProviderSettings(
        id="idp", issuer=ISSUER, client_id=CLIENT_ID, client_secret=SECRET, name="IdP"
    ).admits(claims)
