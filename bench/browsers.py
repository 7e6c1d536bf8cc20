"""Concurrent browsers for the benchmarks: sign-ins on Gatehouse (`bench.sign_in.one_sign_in`)
and on the peer, and sign-in journeys that are only begun."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable

import httpx2
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from bench.sign_in import CALLBACK, Timer, one_sign_in
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET

# What one browser does once, with its own client (base URL: the issuer).
Visit = Callable[[httpx2.AsyncClient], Awaitable[None]]


async def in_browsers(
    issuer: str, visit: Visit, browsers: int, count: int | None = None,
    seconds: float | None = None,
) -> int:
    """`browsers` concurrent browsers each doing `visit` again and again, until `count` visits
    were begun or `seconds` have passed; the number of visits done."""
    deadline = time.perf_counter() + seconds if seconds is not None else None
    begun = done = 0

    def more() -> bool:
        if deadline is not None:
            return time.perf_counter() < deadline
        assert count is not None
        return begun < count

    async def browser() -> None:
        nonlocal begun, done
        async with httpx2.AsyncClient(base_url=issuer, timeout=60) as http:
            while more():
                begun += 1
                await visit(http)
                done += 1

    await asyncio.gather(*(browser() for _ in range(browsers)))
    return done


async def gatehouse_sign_in(http: httpx2.AsyncClient) -> None:
    """A full sign-in on Gatehouse from a fresh cookie jar (the sessions it makes stay)."""
    await one_sign_in(http, Timer())


def authorize_params(verifier: str) -> dict[str, str]:
    """A code-flow authorization request of the confidential client both servers know."""
    return {"client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code",
            "scope": "openid", "state": "s", "nonce": "n",
            "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}


def begin_journey(authorize_path: str) -> Visit:
    """A fresh browser's GET of the authorization endpoint: a journey begun, never finished."""

    async def visit(http: httpx2.AsyncClient) -> None:
        http.cookies.clear()
        response = await http.get(authorize_path,
                                  params=authorize_params(secrets.token_urlsafe(48)))
        assert response.status_code in (302, 303), response.text

    return visit


async def peer_sign_in(http: httpx2.AsyncClient) -> None:
    """A sign-in through node-oidc-provider's development interactions, from a fresh cookie jar:
    authorize → login page → login → consent page → consent → code → token."""
    http.cookies.clear()
    verifier = secrets.token_urlsafe(48)
    response = await http.get("/auth", params=authorize_params(verifier))
    for prompt, fields in (("login", {"login": ALICE[0], "password": ALICE[1]}), ("consent", {})):
        interaction = response.headers["location"]
        page = await http.get(interaction)
        assert page.status_code == 200, page.text
        response = await http.post(interaction, data={"prompt": prompt, **fields})
        response = await http.get(response.headers["location"])
    code = httpx2.URL(response.headers["location"]).params["code"]
    token = await http.post("/token", auth=("demo-rp", CONFIDENTIAL_SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "code_verifier": verifier})
    assert token.status_code == 200, token.text
