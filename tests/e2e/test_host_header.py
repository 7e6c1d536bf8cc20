"""The issuer comes from the configuration, never from the request: a forged Host (or
X-Forwarded-Host, or an absolute request target) changes no URL the server publishes or
redirects to."""

from __future__ import annotations

import re

import httpx2
import pytest

from tests.e2e.server import RunningServer
from tests.e2e.tokens import CALLBACK

EVIL = "evil.example"
FORGED = {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https",
          "Forwarded": f"host={EVIL};proto=https"}
AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid"}))


def absolute_urls(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text)


@pytest.mark.parametrize("path", [
    "/.well-known/openid-configuration", "/jwks", AUTHORIZE, "/account", "/logout", "/nowhere",
    "/authorize?client_id=demo-rp&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
])
async def test_a_forged_host_changes_no_published_or_redirect_url(
    server: RunningServer, path: str
) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.get(f"{server.issuer}{path}", headers=FORGED)
    assert answer.status_code < 500
    location = answer.headers.get("location", "")
    urls = absolute_urls(answer.text) + ([location] if "://" in location else [])
    assert all(EVIL not in url for url in urls), urls
    assert EVIL not in location
    if path.startswith("/.well-known"):
        assert answer.json()["issuer"] == server.issuer
        assert all(v.startswith(server.issuer) for k, v in answer.json().items()
                   if k.endswith("_endpoint") or k == "jwks_uri")
