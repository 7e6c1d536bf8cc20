"""response_mode=form_post (OAuth 2.0 Form Post Response Mode): answers and errors are posted."""

from __future__ import annotations

import httpx2

from tests.e2e.browser import FormBrowser, form_post_params
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, RunningServer

CALLBACK = "https://rp.example/callback"


async def test_oidcc_form_post_code_is_posted_and_redeemable(
    server: RunningServer, browser: FormBrowser
) -> None:
    rp = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
    started = rp.authorize(response_mode="form_post")
    page = await browser.sign_in(started["url"], *ALICE)
    action, fields = form_post_params(page)
    assert action == CALLBACK
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == started["state"] and fields["iss"] == server.issuer
    assert 'src="/static/form_post.js"' in page.text and "<script>" not in page.text
    # openid-client validates the same parameters when they arrive in a query.
    result = rp.callback(started, f"{CALLBACK}?{httpx2.QueryParams(fields)}")
    assert result["claims"]["nonce"] == started["nonce"]


async def test_oidcc_form_post_errors_are_posted_too(server: RunningServer, browser: FormBrowser) -> None:
    response = await browser.http.get("/authorize", params={
        "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid",
        "response_mode": "form_post", "prompt": "none", "state": "st"})
    action, fields = form_post_params(response)
    assert action == CALLBACK
    assert fields == {"error": "login_required", "state": "st", "iss": server.issuer}


async def test_form_post_values_are_escaped(server: RunningServer, browser: FormBrowser) -> None:
    response = await browser.http.get("/authorize", params={
        "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid",
        "response_mode": "form_post", "prompt": "none", "state": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in response.text
    assert form_post_params(response)[1]["state"] == '"><script>alert(1)</script>'
