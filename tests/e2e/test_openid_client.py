"""openid-client, a certified relying-party library, signs in against the real server.

It checks the authorization response (state, RFC 9207 iss), redeems the code with PKCE, verifies the
ID token (signature against the JWKS, iss, aud, exp, iat, nonce, auth_time) and calls UserInfo.
"""

from __future__ import annotations

import pytest

from tests.e2e.browser import FormBrowser, response_url, with_mode
from tests.e2e.openid_client import OpenIdClient, RelyingPartyError
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, POST_SECRET, RunningServer


def clients(server: RunningServer) -> dict[str, OpenIdClient]:
    return {
        "client_secret_basic": OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET),
        "client_secret_post": OpenIdClient(
            server.issuer, "post-client", "client_secret_post", POST_SECRET, "https://post.example/cb"),
        "none": OpenIdClient(server.issuer, "public-app", "none", redirect_uri="https://spa.example/callback"),
    }


@pytest.mark.parametrize("auth", ["client_secret_basic", "client_secret_post", "none"])
async def test_oidcc_server_code_flow(
    server: RunningServer, browser: FormBrowser, auth: str, mode: str
) -> None:
    """oidcc-server (client_secret_basic), oidcc-server-client-secret-post, oidcc-idtoken-signature."""
    rp = clients(server)[auth]
    started = rp.authorize(**with_mode(mode, {"scope": "openid profile email"}))
    answer = await browser.sign_in(started["url"], *ALICE)
    result = rp.callback(started, response_url(answer, mode))
    claims, userinfo = result["claims"], result["userinfo"]
    assert claims["iss"] == server.issuer and claims["aud"] == rp.client_id
    assert claims["nonce"] == started["nonce"]
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["name"] == "Alice Example" and userinfo["email"] == "alice@example.com"


async def test_oidcc_max_age_is_checked_by_the_client(server: RunningServer, browser: FormBrowser) -> None:
    rp = clients(server)["client_secret_basic"]
    started = rp.authorize(max_age="300")
    answer = await browser.sign_in(started["url"], *ALICE)
    result = rp.callback(started, answer.headers["location"], maxAge=300)
    assert isinstance(result["claims"]["auth_time"], int)


async def test_a_tampered_state_is_caught_by_the_client(server: RunningServer, browser: FormBrowser) -> None:
    rp = clients(server)["client_secret_basic"]
    started = rp.authorize()
    answer = await browser.sign_in(started["url"], *ALICE)
    with pytest.raises(RelyingPartyError) as caught:
        rp.callback({**started, "state": "another-state"}, answer.headers["location"])
    assert caught.value.error["code"] == "OAUTH_INVALID_RESPONSE"
    assert caught.value.error["cause"] == 'unexpected "state" response parameter value'
