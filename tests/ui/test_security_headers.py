"""Headers on every kind of answer, and cookies, for an http and an https issuer: CSP without
`unsafe-inline` and `frame-ancestors 'none'`, Referrer-Policy, nosniff; HSTS and `__Host-`
`Secure` cookies exactly when the issuer is https; cookies always HttpOnly and SameSite=Lax."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from quart import Quart

from server.app import create_app
from server.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
AUTHORIZE = "/authorize?" + urlencode({
    "client_id": "demo-rp", "redirect_uri": "http://localhost:8000/demo/callback",
    "response_type": "code", "scope": "openid"})
PATHS = ["/.well-known/openid-configuration", "/jwks", AUTHORIZE, "/nowhere", "/logout",
         "/static/style.css", "/account"]


@pytest.fixture(params=["http://localhost:8000", "https://id.example"])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Quart]:
    demo = load_settings(ROOT / "gatehouse.yaml")
    settings = demo.model_copy(update={
        "issuer": request.param, "store": "sqlite://:memory:", "demo": False})
    quart_app = create_app(settings)
    async with quart_app.test_app():
        yield quart_app


async def test_every_answer_has_the_security_headers(app: Quart) -> None:
    https = app.extensions["gatehouse.provider"].issuer.startswith("https://")
    client = app.test_client()
    for path in PATHS:
        answer = await client.get(path)
        headers = answer.headers
        policy = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy, path
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert ("Strict-Transport-Security" in headers) is https, path
        if path in (AUTHORIZE, "/logout", "/account", "/nowhere"):  # pages; metadata is cached
            assert headers["Cache-Control"] == "no-store", path


async def test_cookies_are_httponly_lax_and_host_bound_over_https(app: Quart) -> None:
    https = app.extensions["gatehouse.provider"].issuer.startswith("https://")
    answer = await app.test_client().get(AUTHORIZE)
    cookies = answer.headers.get_all("Set-Cookie")
    assert cookies, answer.status_code
    for cookie in cookies:
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "samesite", "path"} <= attributes and "SameSite=Lax" in cookie
        assert cookie.startswith("__Host-") is https and ("secure" in attributes) is https
        assert "domain" not in attributes
