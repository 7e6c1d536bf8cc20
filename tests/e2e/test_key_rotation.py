"""`gatehouse keys rotate` against a running server: the next key shows in the JWKS before it signs."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx2

from tests.e2e.browser import FormBrowser
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, gatehouse, start_server


def published(issuer: str) -> set[str]:
    return {key["kid"] for key in httpx2.get(f"{issuer}/jwks").json()["keys"]}


def wait_for(condition, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


async def test_oidcc_server_rotate_keys(tmp_path: Path) -> None:
    server = start_server(tmp_path, key_refresh_interval=0.2)
    try:
        before = published(server.issuer)
        rotated = gatehouse(server.config, "keys", "rotate", "--alg", "RS256", "--activate-in", "4")
        assert rotated.returncode == 0, rotated.stderr
        new_kid = rotated.stdout.split("next key ")[1].split()[0]
        wait_for(lambda: new_kid in published(server.issuer))
        rp = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
        browser = FormBrowser(server.issuer)
        started = rp.authorize()
        first = rp.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
        first_kid = _kid(first["tokens"]["id_token"])
        assert first_kid in before  # published, not yet signing
        time.sleep(4)
        started = rp.authorize()
        second = rp.callback(started, (await browser.http.get(started["url"])).headers["location"])
        await browser.close()
        assert _kid(second["tokens"]["id_token"]) == new_kid  # openid-client verified it
        assert first_kid in published(server.issuer)  # old tokens still verifiable
    finally:
        server.stop()


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])
