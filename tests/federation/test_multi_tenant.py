"""A multi-tenant OpenID provider (Microsoft Entra ID's `common` endpoint) against a scripted one:
its metadata's issuer is a template, and each ID token must come from the issuer of its own
tenant, named by its `tid`; without `multi_tenant` such metadata is refused."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from pydantic import ValidationError

from federation.config import UpstreamProviderSettings
from federation.oidc_upstream import OidcUpstream
from federation.upstream import UpstreamError
from tests.federation.test_upstream import ATTEMPT, KEY, ScriptedOutbound

HOST = "https://login.idp.example"
COMMON = f"{HOST}/common/v2.0"
TEMPLATE = f"{HOST}/{{tenantid}}/v2.0"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


@dataclass
class FakeEntra:
    published_issuer: str = TEMPLATE
    id_claims: dict[str, Any] = field(default_factory=dict)
    requests: list[httpx2.Request] = field(default_factory=list)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/common/v2.0/.well-known/openid-configuration":
            return httpx2.Response(200, json={
                "issuer": self.published_issuer,
                "authorization_endpoint": f"{HOST}/common/oauth2/v2.0/authorize",
                "token_endpoint": f"{HOST}/common/oauth2/v2.0/token",
                "jwks_uri": f"{HOST}/common/discovery/v2.0/keys",
            })
        if path == "/common/discovery/v2.0/keys":
            return httpx2.Response(200, json={"keys": [KEY.as_dict(private=False)]})
        if path == "/common/oauth2/v2.0/token":
            now = int(time.time())
            claims = {"iss": f"{HOST}/{TENANT}/v2.0", "tid": TENANT, "aud": "gatehouse",
                      "sub": "pairwise-sub", "iat": now, "exp": now + 300, "nonce": "the-nonce",
                      **self.id_claims}
            token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, KEY)
            return httpx2.Response(200, json={"access_token": "at", "token_type": "Bearer",
                                              "id_token": token})
        return httpx2.Response(404)


def upstream(provider: FakeEntra, multi_tenant: bool = True) -> OidcUpstream:
    settings = UpstreamProviderSettings(
        id="entra", name="Microsoft", issuer=COMMON, client_id="gatehouse", client_secret="s",
        multi_tenant=multi_tenant,
    )
    return OidcUpstream(settings, "https://gatehouse.example/federation/entra/callback",
                        ScriptedOutbound(handler=provider.handle))


async def test_a_token_from_its_own_tenants_issuer_signs_in() -> None:
    identity = await upstream(FakeEntra()).finish({"code": "c"}, ATTEMPT)
    # A `sub` is unique within its issuer only: the account is the tenant's and the sub.
    assert identity.subject == f"{TENANT}/pairwise-sub" and identity.claims["sub"] == "pairwise-sub"
    assert identity.claims["tid"] == TENANT


@pytest.mark.parametrize(("id_claims", "reason"), [
    ({"iss": f"{HOST}/{OTHER_TENANT}/v2.0"}, "iss"),  # another tenant's issuer than its tid
    ({"iss": COMMON}, "iss"),
    ({"tid": None}, "tid"),
    ({"tid": "common"}, "tid"),
    ({"tid": "../evil"}, "tid"),
    ({"iss": f"{HOST}/{TENANT.upper()}/v2.0", "tid": TENANT.upper()}, "tid"),
])
async def test_a_token_whose_issuer_and_tenant_disagree_is_refused(
    id_claims: dict[str, Any], reason: str
) -> None:
    with pytest.raises(UpstreamError, match=reason):
        await upstream(FakeEntra(id_claims=id_claims)).finish({"code": "c"}, ATTEMPT)


async def test_the_iss_parameter_must_be_one_of_the_tenants_issuers() -> None:
    provider = FakeEntra()
    assert (await upstream(provider).finish({"code": "c", "iss": f"{HOST}/{TENANT}/v2.0"}, ATTEMPT))
    with pytest.raises(UpstreamError, match="came from issuer"):
        await upstream(provider).finish({"code": "c", "iss": "https://evil.example/x/v2.0"}, ATTEMPT)


@pytest.mark.parametrize(("published", "multi_tenant", "reason"), [
    (TEMPLATE, False, "names issuer"),  # a template is accepted only when configured so
    (COMMON, True, "has no {tenantid}"),
    ("https://evil.example/{tenantid}/v2.0", True, "another host"),
    (f"{HOST}/{{tenantid}}/{{tenantid}}", True, "has no {tenantid}"),
])
async def test_metadata_that_does_not_fit_is_refused_before_anything_else(
    published: str, multi_tenant: bool, reason: str
) -> None:
    provider = FakeEntra(published_issuer=published)
    with pytest.raises(UpstreamError, match=reason):
        await upstream(provider, multi_tenant).authorization_url(ATTEMPT)
    assert [r.url.path for r in provider.requests] == [
        "/common/v2.0/.well-known/openid-configuration"
    ]


def test_only_an_openid_provider_can_be_multi_tenant() -> None:
    with pytest.raises(ValidationError, match="no issuer"):
        UpstreamProviderSettings(
            id="gh", name="GitHub", protocol="oauth2", client_id="c", client_secret="s",
            scopes=["read:user"], multi_tenant=True,
            authorization_endpoint="https://gh.example/a", token_endpoint="https://gh.example/t",
            userinfo_endpoint="https://gh.example/u",
        )
