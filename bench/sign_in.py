"""Median latency of each request of a full interactive sign-in against the real server, and the
argon2id floor that the password request must pay."""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
from argon2 import PasswordHasher
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from bench.harness import LOAD_SETTINGS
from steps.password_hashing import OWASP_MEMORY_COST_KIB, OWASP_PARALLELISM, OWASP_TIME_COST
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, start_server
from tests.mongodb_server import start_secantusdb

CALLBACK = "https://rp.example/callback"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Timer:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    async def __call__(self, name: str, request: Awaitable[httpx2.Response]) -> httpx2.Response:
        start = time.perf_counter()
        response = await request
        self.samples.setdefault(name, []).append((time.perf_counter() - start) * 1000)
        return response

    def medians(self) -> dict[str, float]:
        return {name: statistics.median(values) for name, values in self.samples.items()}


# After the password: given the flow's URL and the form token, the pages of a second factor, ending
# with the response that leaves the flow.
SecondFactor = Callable[[httpx2.AsyncClient, Timer, str, str], Awaitable[httpx2.Response]]


async def one_sign_in(
    http: httpx2.AsyncClient, timed: Timer, login: str = ALICE[0], password: str = ALICE[1],
    second_factor: SecondFactor | None = None, scope: str = "openid profile",
) -> None:
    """authorize → identify page → login → password page → password [→ second factor], which
    answers with the code → token."""
    verifier = secrets.token_urlsafe(48)
    http.cookies.clear()
    response = await timed("authorize", http.get("/authorize", params={
        "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code",
        "scope": scope, "state": "s", "nonce": "n",
        "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}))
    flow = response.headers["location"]
    page = await timed("GET identify page", http.get(flow))
    match = CSRF.search(page.text)
    assert match, page.text
    csrf = match.group(1)
    await timed("POST login", http.post(flow, data={"csrf_token": csrf, "login": login}))
    await timed("GET password page", http.get(flow))
    done = await timed("POST password", http.post(flow, data={"csrf_token": csrf, "password": password}))
    if second_factor is not None:
        done = await second_factor(http, timed, flow, csrf)
    code = httpx2.URL(done.headers["location"]).params["code"]  # the last POST answers
    token = await timed("POST token", http.post("/token", auth=("demo-rp", CONFIDENTIAL_SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "code_verifier": verifier}))
    assert token.status_code == 200, token.text


async def measure_round(issuer: str, sign_ins: int) -> tuple[dict[str, float], float]:
    timed = Timer()
    totals = []
    async with httpx2.AsyncClient(base_url=issuer) as http:
        for _ in range(sign_ins):
            start = time.perf_counter()
            await one_sign_in(http, timed)
            totals.append((time.perf_counter() - start) * 1000)
    return timed.medians(), statistics.median(totals)


def argon2_floor_ms(samples: int) -> float:
    hasher = PasswordHasher(time_cost=OWASP_TIME_COST, memory_cost=OWASP_MEMORY_COST_KIB,
                            parallelism=OWASP_PARALLELISM)
    stored = hasher.hash(ALICE[1])
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        hasher.verify(stored, ALICE[1])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@contextmanager
def store_url(store: str, workdir: Path) -> Iterator[str]:
    """The URL of the store to measure with (a server started for it is stopped afterwards)."""
    if store == "sqlite":
        yield f"sqlite:///{workdir / 'gatehouse.db'}"
    elif store == "secantusdb":
        server = start_secantusdb(workdir / "secantusd.log")
        try:
            yield server.url("gatehouse_bench")
        finally:
            server.stop()
    else:
        yield store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sign-ins", type=int, default=40, help="sequential sign-ins per round")
    parser.add_argument(
        "--store", default="sqlite",
        help="sqlite (a fresh file), secantusdb (started on a free port), or a mongodb:// URL",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, store_url(args.store, Path(workdir)) as url:
        server = start_server(Path(workdir), store=url, **LOAD_SETTINGS)
        try:
            asyncio.run(measure_round(server.issuer, 5))  # warm up
            rounds = [asyncio.run(measure_round(server.issuer, args.sign_ins)) for _ in range(args.rounds)]
        finally:
            server.stop()
    floor = argon2_floor_ms(50)
    print(f"{args.rounds} rounds x {args.sign_ins} sequential sign-ins, one keep-alive connection,"
          f" store {args.store}; medians of the per-round medians (ms):")
    for name in rounds[0][0]:
        print(f"  {name:20s} {statistics.median(r[0][name] for r in rounds):7.2f}")
    total = statistics.median(r[1] for r in rounds)
    print(f"  {'whole sign-in':20s} {total:7.2f}")
    print(f"  {'argon2id verify':20s} {floor:7.2f}  (m={OWASP_MEMORY_COST_KIB} KiB, t={OWASP_TIME_COST}, p=1,"
          " in-process)")
    print(f"everything but the hash: {total - floor:.1f} ms per sign-in, {(total - floor) / total:.0%}")


if __name__ == "__main__":
    main()
