"""A plain OAuth 2.0 upstream (GitHub's shape) against a scripted provider: the identity comes from
the user API and the emails list, and every odd answer is an `UpstreamError`, never a sign-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import ValidationError

from federation.config import UpstreamProviderSettings
from federation.oauth2_upstream import OAuth2Upstream
from federation.upstream import Attempt, UpstreamError
from tests.federation.test_upstream import ScriptedOutbound

SITE, API = "https://github.example", "https://api.github.example"
SECRET = "app-secret-0123456789abcdefghijklmnop"
VERIFIER = "verifier-" + "v" * 50
ATTEMPT = Attempt("run.state", "the-nonce", VERIFIER)
OCTOCAT = {"login": "octocat", "id": 583231, "name": "The Octocat", "email": None}
EMAILS = [
    {"email": "old@example.com", "primary": False, "verified": True},
    {"email": "octocat@example.com", "primary": True, "verified": True},
]


@dataclass
class FakeGithub:
    """The token endpoint, user API and emails list; a test spoils one answer at a time."""

    token: dict[str, Any] = field(
        default_factory=lambda: {"access_token": "gho_x", "token_type": "bearer", "scope": "read:user"}
    )
    user: Any = field(default_factory=lambda: dict(OCTOCAT))
    user_status: int = 200
    emails: Any = field(default_factory=lambda: list(EMAILS))
    emails_status: int = 200
    orgs: Any = field(default_factory=lambda: [{"login": "gatehouse-org", "id": 1}])
    orgs_status: int = 200
    requests: list[httpx2.Request] = field(default_factory=list)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if request.url.path == "/login/oauth/access_token":
            form = parse_qs(request.content.decode())
            assert form["code_verifier"] == [VERIFIER] and form["code"] == ["c"]
            return httpx2.Response(200, json=self.token)  # GitHub answers errors with 200 too
        assert request.headers["authorization"] == "Bearer gho_x"
        if request.url.path == "/user":
            return httpx2.Response(self.user_status, json=self.user)
        if request.url.path == "/user/emails":
            return httpx2.Response(self.emails_status, json=self.emails)
        if request.url.path == "/user/orgs":
            assert request.url.params["per_page"] == "100"  # the configured query is kept
            return httpx2.Response(self.orgs_status, json=self.orgs)
        return httpx2.Response(404)


def settings(**changes: Any) -> UpstreamProviderSettings:
    """GitHub's settings with `changes` (None: the setting left out)."""
    fields = {
        "id": "github", "name": "GitHub", "protocol": "oauth2", "client_id": "app",
        "client_secret": SECRET, "scopes": ["read:user", "user:email"],
        "authorization_endpoint": f"{SITE}/login/oauth/authorize",
        "token_endpoint": f"{SITE}/login/oauth/access_token",
        "userinfo_endpoint": f"{API}/user", "emails_endpoint": f"{API}/user/emails",
        "claims": {"username": "login", "name": "name", "email": "email"}, **changes,
    }
    return UpstreamProviderSettings(**{k: v for k, v in fields.items() if v is not None})


def upstream(provider: FakeGithub, **changes: Any) -> OAuth2Upstream:
    return OAuth2Upstream(settings(**changes), "https://gatehouse.example/federation/github/callback",
                          ScriptedOutbound(handler=provider.handle))


async def test_the_authorization_url_has_pkce_and_state_and_nothing_of_openid() -> None:
    url = await upstream(FakeGithub()).authorization_url(ATTEMPT, login_hint="ann", login=False)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{SITE}/login/oauth/authorize"
    assert query["state"] == "run.state" and query["scope"] == "read:user user:email"
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == create_s256_code_challenge(VERIFIER)
    assert query["redirect_uri"] == "https://gatehouse.example/federation/github/callback"
    assert not {"nonce", "prompt", "max_age", "login_hint"} & set(query)


async def test_the_user_api_says_who_and_the_emails_list_which_address_is_verified() -> None:
    provider = FakeGithub()
    identity = await upstream(provider).finish({"code": "c", "state": "run.state"}, ATTEMPT)
    assert identity.subject == "583231" and identity.provider == "github"
    assert identity.claims["login"] == "octocat" and identity.claims["sub"] == "583231"
    assert identity.claims["email"] == "octocat@example.com"  # the primary one
    assert identity.claims["email_verified"] is True and identity.amr == []
    token_request = provider.requests[0]
    assert token_request.headers["accept"] == "application/json"  # else GitHub answers a form
    assert token_request.headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize("emails", [
    # A verified address that is not the primary one may be an old one: not taken either.
    [{"email": "a@example.com", "primary": True, "verified": False},
     {"email": "b@example.com", "primary": False, "verified": True}],
    [{"email": "a@example.com", "primary": True, "verified": "yes"}, "junk", None],
    [],
])
async def test_only_a_verified_primary_address_counts(emails: Any) -> None:
    provider = FakeGithub(emails=emails, user={**OCTOCAT, "email": "public@example.com"})
    identity = await upstream(provider).finish({"code": "c"}, ATTEMPT)
    assert "email" not in identity.claims and "email_verified" not in identity.claims


@pytest.mark.parametrize("status", [403, 404])
async def test_an_emails_list_the_person_did_not_grant_means_no_address(status: int) -> None:
    identity = await upstream(FakeGithub(emails_status=status)).finish({"code": "c"}, ATTEMPT)
    assert identity.subject == "583231" and "email" not in identity.claims


async def test_without_an_emails_endpoint_no_address_counts_whatever_the_user_api_says() -> None:
    provider = FakeGithub(user={**OCTOCAT, "email": "o@example.com", "email_verified": True,
                                "amr": ["mfa"], "auth_time": 1})
    identity = await upstream(provider, emails_endpoint=None).finish({"code": "c"}, ATTEMPT)
    assert not {"email", "email_verified", "auth_time"} & set(identity.claims)
    assert identity.amr == [] and identity.claims["login"] == "octocat"
    assert [r.url.path for r in provider.requests] == ["/login/oauth/access_token", "/user"]


async def test_a_field_nested_too_deep_is_left_out_so_the_run_still_saves() -> None:
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"d": deep}
    provider = FakeGithub(user={**OCTOCAT, "plan": deep, "site": {"x": [1, {"y": 2}]}})
    identity = await upstream(provider).finish({"code": "c"}, ATTEMPT)
    assert "plan" not in identity.claims and identity.claims["site"] == {"x": [1, {"y": 2}]}


async def test_the_groups_list_gives_the_groups_claim_and_the_user_api_cannot() -> None:
    provider = FakeGithub(user={**OCTOCAT, "groups": ["admins"]}, orgs=[
        {"login": "gatehouse-org"}, {"login": 7}, "junk", {"name": "no login"}, {"login": "club"},
    ])
    identity = await upstream(provider, groups_endpoint=f"{API}/user/orgs?per_page=100").finish(
        {"code": "c"}, ATTEMPT)
    assert identity.claims["groups"] == ["gatehouse-org", "club"]
    without = await upstream(FakeGithub(user={**OCTOCAT, "groups": ["admins"]})).finish(
        {"code": "c"}, ATTEMPT)
    assert "groups" not in without.claims  # only the groups list says what they are


@pytest.mark.parametrize("status", [403, 404])
async def test_a_groups_list_the_person_did_not_grant_means_no_groups(status: int) -> None:
    identity = await upstream(FakeGithub(orgs_status=status),
                              groups_endpoint=f"{API}/user/orgs?per_page=100").finish({"code": "c"}, ATTEMPT)
    assert identity.claims["groups"] == []


async def test_a_groups_answer_that_is_not_a_list_signs_nobody_in() -> None:
    with pytest.raises(UpstreamError, match="groups answer"):
        await upstream(FakeGithub(orgs={"login": "x"}),
                       groups_endpoint=f"{API}/user/orgs?per_page=100").finish({"code": "c"}, ATTEMPT)


@pytest.mark.parametrize(("spoil", "reason"), [
    ({"token": {"error": "bad_verification_code", "error_description": "expired"}}, "token request"),
    ({"token": {"access_token": "gho_x", "token_type": "mac"}}, "Bearer"),
    ({"user_status": 401, "user": {"message": "Bad credentials"}}, "user API"),
    ({"user": ["octocat"]}, "JSON object"),
    ({"user": {"login": "octocat"}}, "'id'"),
    ({"user": {"login": "octocat", "id": True}}, "'id'"),
    ({"user": {"login": "octocat", "id": ""}}, "'id'"),
    ({"user": {"login": "octocat", "id": {"nested": 1}}}, "'id'"),
    ({"user": {"login": "octocat", "id": 1.5}}, "'id'"),
    ({"user": {"login": "octocat", "id": 10**300}}, "'id'"),
    ({"user": {"login": "octocat", "id": "x" * 256}}, "'id'"),
    ({"emails": {"email": "o@example.com"}}, "not a list"),
])
async def test_odd_answers_sign_nobody_in(spoil: dict[str, Any], reason: str) -> None:
    with pytest.raises(UpstreamError, match=reason):
        await upstream(FakeGithub(**spoil)).finish({"code": "c"}, ATTEMPT)


async def test_an_error_response_is_told_apart_from_a_refusal() -> None:
    with pytest.raises(UpstreamError) as refused:
        await upstream(FakeGithub()).finish({"error": "access_denied", "state": "s"}, ATTEMPT)
    assert refused.value.denied
    with pytest.raises(UpstreamError, match="no code"):
        await upstream(FakeGithub()).finish({"state": "s"}, ATTEMPT)


@pytest.mark.parametrize(("changes", "message"), [
    ({"userinfo_endpoint": None}, "needs userinfo_endpoint"),
    ({"token_endpoint": None, "authorization_endpoint": None},
     "needs authorization_endpoint, token_endpoint"),
    ({"issuer": "https://github.example"}, "has no issuer"),
    ({"protocol": "oidc", "issuer": "https://idp.example"}, "only with protocol: oauth2"),
    ({"protocol": "oidc", "issuer": "https://idp.example", "authorization_endpoint": None,
      "token_endpoint": None, "userinfo_endpoint": None, "emails_endpoint": None},
     "must include openid"),
    ({"protocol": "oidc", "authorization_endpoint": None, "token_endpoint": None,
      "userinfo_endpoint": None, "emails_endpoint": None, "scopes": ["openid"]}, "needs its issuer"),
    ({"token_endpoint": "ftp://github.example/token"}, "https"),
    ({"token_endpoint": "http://github.example/token"}, "must be https"),
    ({"scopes": None}, "needs scopes"),
    ({"protocol": "oidc", "issuer": "https://idp.example", "authorization_endpoint": None,
      "token_endpoint": None, "userinfo_endpoint": None, "emails_endpoint": None,
      "scopes": ["openid"], "subject_claim": "id"}, "subject_claim"),
    ({"protocol": "oidc", "issuer": "https://idp.example", "authorization_endpoint": None,
      "token_endpoint": None, "userinfo_endpoint": None, "emails_endpoint": None,
      "scopes": ["openid"], "groups_field": "name"}, "groups_field"),
    ({"protocol": "oidc", "issuer": "https://idp.example?tenant=1", "authorization_endpoint": None,
      "token_endpoint": None, "userinfo_endpoint": None, "emails_endpoint": None,
      "scopes": ["openid"]}, "without a query"),
])
def test_settings_fit_the_protocol(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**changes)
