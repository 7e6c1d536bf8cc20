"""What the observability tests share: a sign-in with its token exchange, the metrics of a server
as numbers, and the JSON lines of its log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.server import ALICE, SERVICE_SECRET
from tests.e2e.test_mfa_in_chromium import CHALLENGE, VERIFIER

T = TypeVar("T")
CALLBACK = "https://spa.example/callback"
AUTHORIZE = (f"/authorize?client_id=public-app&redirect_uri={CALLBACK}&response_type=code"
             f"&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256")
Labels = frozenset[tuple[str, str]]


async def sign_in_and_exchange(
    browser: FormBrowser, login: str = ALICE[0], password: str = ALICE[1]
) -> httpx2.Response:
    """Alice (or another) signs in to the public client, which redeems its code: the token
    response."""
    _, params = redirect_params(await browser.sign_in(AUTHORIZE, login, password))
    token = await browser.http.post("/token", data={
        "grant_type": "authorization_code", "code": params["code"], "client_id": "public-app",
        "redirect_uri": CALLBACK, "code_verifier": VERIFIER})
    assert token.status_code == 200, token.text
    return token


async def client_credentials(issuer: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        token = await http.post(f"{issuer}/token", data={"grant_type": "client_credentials"},
                                auth=("service", SERVICE_SECRET))
    assert token.status_code == 200, token.text
    return token


async def a_sign_in_and_a_service_token(issuer: str) -> None:
    """Alice signs in to the public client (which redeems its code), and the service client
    takes a client_credentials token."""
    browser = FormBrowser(issuer)
    try:
        await sign_in_and_exchange(browser)
    finally:
        await browser.close()
    await client_credentials(issuer)


def metric_values(text: str) -> dict[tuple[str, Labels], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(issuer: str, token: str | None = None) -> dict[tuple[str, Labels], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{issuer}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return metric_values(response.text)


def value(samples: dict[tuple[str, Labels], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def json_lines(log: Path) -> list[dict[str, Any]]:
    """The server's log lines as JSON objects (the CLI's own banner lines are plain text)."""
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    banner = ("Gatehouse ", "Demo relying party:")
    return [json.loads(line) for line in lines if not line.startswith(banner)]


def wait_for(find: Callable[[], T | None], seconds: float = 10) -> T:
    """What `find` returns once it returns something (a log line is written a moment after
    the response leaves)."""
    deadline = time.monotonic() + seconds
    while True:
        found = find()
        if found is not None or time.monotonic() > deadline:
            assert found is not None, "not found in time"
            return found
        time.sleep(0.05)
