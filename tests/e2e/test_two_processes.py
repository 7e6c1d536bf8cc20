"""Two `gatehouse serve` processes of one config and one store, behind a load balancer: a sign-in
with a second factor that alternates between them request by request, concurrent sign-ins spread
over both, and codes that are good once whichever process redeems them. On every store backend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx2
import pyotp
import pytest
from bs4 import BeautifulSoup
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, RunningServer, serve_another, start_server
from tests.e2e.test_mfa_in_chromium import CHALLENGE, MFA_APP, PASSWORD, VERIFIER, add_user

PUBLIC_APP = ("public-app", "https://spa.example/callback")


class Balancer(httpx2.AsyncBaseTransport):
    """A load balancer's stand-in: each request goes to the port the test chose (or, with none
    chosen, to each in turn), its Host header unchanged; (method, path, port) of each is kept."""

    def __init__(
        self, pool: httpx2.AsyncHTTPTransport, ports: tuple[int, ...], first: int = 0
    ) -> None:
        self.pool, self.ports, self.turn = pool, ports, first
        self.port: int | None = None
        self.sent: list[tuple[str, str, int]] = []

    def to(self, port: int) -> Balancer:
        """Send what follows to `port`."""
        self.port = port
        return self

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.port if self.port is not None else self.ports[self.turn % len(self.ports)]
        self.turn += 1
        self.sent.append((request.method, request.url.path, port))
        routed = httpx2.Request(request.method, request.url.copy_with(port=port),
                                headers=request.headers, stream=request.stream,
                                extensions=request.extensions)
        return await self.pool.handle_async_request(routed)

    async def aclose(self) -> None:
        """The connection pool belongs to the cluster, not to one client."""

    def ports_of(self, method: str) -> list[int]:
        return [port for sent, _, port in self.sent if sent == method]


@dataclass
class Cluster:
    issuer: str
    a: int
    b: int
    pool: httpx2.AsyncHTTPTransport
    clients: AsyncExitStack

    def balancer(self, port: int | None = None, first: int = 0) -> Balancer:
        balancer = Balancer(self.pool, (self.a, self.b), first)
        return balancer if port is None else balancer.to(port)

    async def client(self, balancer: Balancer) -> httpx2.AsyncClient:
        return await self.clients.enter_async_context(httpx2.AsyncClient(
            base_url=self.issuer, follow_redirects=False, transport=balancer))

    async def browser(self, balancer: Balancer) -> FormBrowser:
        """A FormBrowser (one cookie jar: cookies are per host, not per port) behind `balancer`."""
        browser = FormBrowser(self.issuer)
        await browser.http.aclose()
        browser.http = await self.client(balancer)
        return browser


@pytest.fixture
def processes(store_url: str, tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    a = start_server(tmp_path, store=store_url)
    try:
        b = serve_another(a, tmp_path)
    except BaseException:
        a.stop()
        raise
    yield a, b
    b.stop()
    a.stop()
    for server in (a, b):
        assert "Traceback" not in server.log.read_text(), server.log.read_text()


@pytest.fixture
async def cluster(processes: tuple[RunningServer, RunningServer]) -> AsyncIterator[Cluster]:
    a, b = processes
    async with httpx2.AsyncHTTPTransport() as pool, AsyncExitStack() as clients:
        yield Cluster(a.issuer, a.port, b.port, pool, clients)


def authorize(client: tuple[str, str]) -> str:
    return "/authorize?" + str(httpx2.QueryParams({
        "client_id": client[0], "redirect_uri": client[1], "response_type": "code",
        "scope": "openid", "state": "st", "code_challenge": CHALLENGE,
        "code_challenge_method": "S256"}))


def code_of(answer: httpx2.Response, client: tuple[str, str]) -> str:
    target, params = redirect_params(answer)
    assert target == client[1] and params["state"] == "st", (target, params)
    return params["code"]


async def redeem(rp: httpx2.AsyncClient, client: tuple[str, str], code: str) -> httpx2.Response:
    return await rp.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": client[1],
        "client_id": client[0], "code_verifier": VERIFIER})


def refused(answer: httpx2.Response) -> bool:
    return answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def verified_claims(rp: httpx2.AsyncClient, issuer: str, answer: httpx2.Response,
                          audience: str) -> dict[str, Any]:
    """The ID token's claims, checked against the JWKS of whichever process `rp` reaches."""
    assert answer.status_code == 200, answer.text
    keys = KeySet.import_key_set((await rp.get("/jwks")).json())
    token = jwt.decode(answer.json()["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer}, aud={"essential": True, "value": audience},
        sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
    ).validate(token.claims)
    return token.claims


async def password_on_a(
    cluster: Cluster, name: str
) -> tuple[FormBrowser, Balancer, httpx2.Response]:
    """A new browser: authorize on A, identify on B, password on A; the page that follows."""
    lb = cluster.balancer(cluster.a)
    web = await cluster.browser(lb)
    page = await web.open(authorize(MFA_APP))
    lb.to(cluster.b)
    page = await web.submit(page, login=name)
    lb.to(cluster.a)
    return web, lb, await web.submit(page, password=PASSWORD)


async def test_a_sign_in_with_a_second_factor_alternates_between_the_processes(
    cluster: Cluster, processes: tuple[RunningServer, RunningServer]
) -> None:
    a, b = cluster.a, cluster.b
    add_user(processes[0], "dora")
    web, lb, page = await password_on_a(cluster, "dora")
    rp = await cluster.client(lb)
    lb.to(b)
    page = await web.click(page, ("choice", "totp"))
    key = BeautifulSoup(page.text, "html.parser").select_one(".secret-key")
    assert key is not None, page.text
    totp = pyotp.TOTP(key.get_text().replace(" ", ""))
    lb.to(a)
    page = await web.submit(page, code=totp.now())
    assert "Save your recovery codes" in page_text(page), page_text(page)
    lb.to(b)
    code = code_of(await web.submit(page, confirm="yes"), MFA_APP)
    first = await verified_claims(rp, cluster.issuer, await redeem(rp, MFA_APP, code), "mfa-app")
    assert lb.sent[0] == ("GET", "/authorize", a)
    assert lb.ports_of("POST") == [b, a, b, a, b, b]  # login, password, choice, code, saved, token
    assert "otp" in first["amr"] and first["acr"] == "urn:gatehouse:loa:2"

    # Another browser: the app's code for the next time step (the enrolment used this one).
    web, lb, page = await password_on_a(cluster, "dora")
    rp = await cluster.client(lb)
    next_code = totp.at(time.time() + 30)
    lb.to(b)
    page = await web.submit(page, code=next_code)
    assert "Remember this browser?" in page_text(page), page_text(page)
    lb.to(a)
    code = code_of(await web.click(page, ("remember", "no")), MFA_APP)
    lb.to(b)
    second = await verified_claims(rp, cluster.issuer, await redeem(rp, MFA_APP, code), "mfa-app")
    assert lb.ports_of("POST") == [b, a, b, a, b]  # login, password, code, not now, token
    assert second["sub"] == first["sub"] and "otp" in second["amr"]
    assert second["acr"] == "urn:gatehouse:loa:2"

    # B took that code: A knows it was used.
    web, lb, page = await password_on_a(cluster, "dora")
    again = await web.submit(page, code=next_code)
    assert "That code was already used" in page_text(again), page_text(again)


async def concurrent_sign_ins(cluster: Cluster, count: int) -> list[str]:
    """`count` sign-ins of alice at once, each request of each on the other process than the one
    before (round robin); their codes."""
    balancers = [cluster.balancer(first=i) for i in range(count)]
    browsers = [await cluster.browser(lb) for lb in balancers]
    url = authorize(PUBLIC_APP)
    answers = await asyncio.gather(*(web.sign_in(url, *ALICE) for web in browsers))
    for lb in balancers:
        ports = [port for _, _, port in lb.sent]
        assert len(ports) == 5 and all(p != q for p, q in pairwise(ports)), lb.sent
    assert {port for lb in balancers for port in lb.ports_of("POST")} == {cluster.a, cluster.b}
    codes = [code_of(answer, PUBLIC_APP) for answer in answers]
    assert len(set(codes)) == count
    return codes


async def test_concurrent_sign_ins_spread_over_both_processes(cluster: Cluster) -> None:
    codes = await concurrent_sign_ins(cluster, 8)
    on = [await cluster.client(cluster.balancer(port)) for port in (cluster.a, cluster.b)]
    first = await asyncio.gather(*(redeem(on[i % 2], PUBLIC_APP, c) for i, c in enumerate(codes)))
    assert [answer.status_code for answer in first] == [200] * 8, [a.text for a in first]
    again = await asyncio.gather(
        *(redeem(on[1 - i % 2], PUBLIC_APP, c) for i, c in enumerate(codes)))
    assert all(refused(answer) for answer in again), [(a.status_code, a.text) for a in again]


async def test_a_code_raced_on_both_processes_is_granted_at_most_once(cluster: Cluster) -> None:
    codes = await concurrent_sign_ins(cluster, 4)
    on = [await cluster.client(cluster.balancer(port)) for port in (cluster.a, cluster.b)]
    raced = await asyncio.gather(*(redeem(rp, PUBLIC_APP, code) for code in codes for rp in on))
    # The loser revokes what the code gave (RFC 6749 4.1.2), which may reach the winner in time.
    for pair in zip(raced[::2], raced[1::2], strict=True):
        assert all(refused(a) or a.status_code == 200 for a in pair), [a.text for a in pair]
        assert [a.status_code for a in pair].count(200) <= 1, [a.text for a in pair]


async def test_a_code_from_a_redeemed_on_b_is_spent_on_a(cluster: Cluster) -> None:
    web = await cluster.browser(cluster.balancer(cluster.a))
    code = code_of(await web.sign_in(authorize(PUBLIC_APP), *ALICE), PUBLIC_APP)
    on_a = await cluster.client(cluster.balancer(cluster.a))
    on_b = await cluster.client(cluster.balancer(cluster.b))
    redeemed = await redeem(on_b, PUBLIC_APP, code)
    # Signed by whichever process answered, verified with the keys the other one publishes.
    claims = await verified_claims(on_a, cluster.issuer, redeemed, "public-app")
    assert claims["amr"] == ["pwd"]
    assert refused(await redeem(on_a, PUBLIC_APP, code))


async def test_wrong_passwords_are_counted_across_processes(
    cluster: Cluster, processes: tuple[RunningServer, RunningServer]
) -> None:
    add_user(processes[0], "erin")
    lb = cluster.balancer()  # each request to the other process
    web = await cluster.browser(lb)
    answers = []
    for _ in range(5):
        page = await web.submit(await web.open(authorize(PUBLIC_APP)), login="erin")
        answers.append(page_text(await web.submit(page, password="wrong")))
    assert all("Incorrect username or password." in a for a in answers[:4]), answers
    assert "Too many attempts. Try again in 60 seconds." in answers[4], answers[4]
    page = await web.submit(await web.open(authorize(PUBLIC_APP)), login="erin")
    right = page_text(await web.submit(page, password=PASSWORD))
    assert "Too many attempts." in right  # blocked on both processes, even the right password
    assert set(lb.ports_of("POST")) == {cluster.a, cluster.b}
