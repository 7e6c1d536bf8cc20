"""Median latency of a sign-in with password and an authenticator-app code against the real server,
side by side with a password-only sign-in, so the cost of the second factor shows."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import httpx2
import pyotp

from bench.harness import LOAD_SETTINGS
from bench.sign_in import SecondFactor, Timer, one_sign_in
from steps.password_hashing import PasswordHashing
from store import open_store
from store.records import CredentialRecord, UserRecord
from store.sealing import Sealer
from tests.e2e.server import RunningServer, start_server

PASSWORD = "bench-password-1"


async def add_totp_users(server: RunningServer, count: int) -> list[tuple[str, pyotp.TOTP]]:
    """Users with an authenticator app, written to the server's store (one per sign-in: a code
    is good once per 30-second step)."""
    store = await open_store(f"sqlite:///{server.config.parent / 'gatehouse.db'}")
    passwords = PasswordHashing(threads=1)
    try:
        sealer = Sealer([await store.secrets.get_or_create("credential-key", Sealer.new_key())])
        hashed = await passwords.hash(PASSWORD)
        users = []
        for _ in range(count):
            user = UserRecord(id=secrets.token_hex(8), username=f"mfa-{secrets.token_hex(4)}",
                              email_verified=True, password_hash=hashed, created_at=time.time())
            secret = pyotp.random_base32()
            await store.users.add(user)
            await store.credentials.add(CredentialRecord(
                id=secrets.token_urlsafe(16), user_id=user.id, kind="totp", created_at=time.time(),
                data={"secret": sealer.seal(secret), "digits": 6, "last_step": 0}))
            users.append((user.username, pyotp.TOTP(secret)))
        return users
    finally:
        await store.close()
        passwords.close()


def app_code(totp: pyotp.TOTP) -> SecondFactor:
    """The second factor of `bench.sign_in`: the code page, the code, "remember?" no."""

    async def pages(http: httpx2.AsyncClient, timed: Timer, flow: str, csrf: str) -> httpx2.Response:
        page = await timed("GET code page", http.get(flow))
        assert "authenticator app" in page.text, page.text
        await timed("POST code", http.post(flow, data={"csrf_token": csrf, "code": totp.now()}))
        await timed("GET remember page", http.get(flow))
        return await timed("POST remember: no",
                           http.post(flow, data={"csrf_token": csrf, "remember": "no"}))

    return pages


async def measure_round(
    issuer: str, users: list[tuple[str, pyotp.TOTP]]
) -> tuple[dict[str, float], float, float]:
    timed, plain = Timer(), Timer()
    with_mfa, without = [], []
    async with httpx2.AsyncClient(base_url=issuer) as http:
        for user in users:
            start = time.perf_counter()
            await one_sign_in(http, timed, user[0], PASSWORD, app_code(user[1]))
            with_mfa.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            await one_sign_in(http, plain)
            without.append((time.perf_counter() - start) * 1000)
    return timed.medians(), statistics.median(with_mfa), statistics.median(without)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sign-ins", type=int, default=20, help="sign-ins of each kind per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        server = start_server(Path(workdir), **LOAD_SETTINGS)
        try:
            users = asyncio.run(add_totp_users(server, args.sign_ins * (args.rounds + 1)))
            batches = [users[i::args.rounds + 1] for i in range(args.rounds + 1)]
            asyncio.run(measure_round(server.issuer, batches[0][:5]))  # warm up
            rounds = [asyncio.run(measure_round(server.issuer, batch)) for batch in batches[1:]]
        finally:
            server.stop()
    print(f"{args.rounds} rounds x {args.sign_ins} sign-ins of each kind, interleaved, one keep-alive"
          " connection; medians of the per-round medians (ms):")
    for name in rounds[0][0]:
        print(f"  {name:20s} {statistics.median(r[0][name] for r in rounds):7.2f}")
    with_mfa = statistics.median(r[1] for r in rounds)
    without = statistics.median(r[2] for r in rounds)
    print(f"  {'password + code':20s} {with_mfa:7.2f}")
    print(f"  {'password only':20s} {without:7.2f}")
    print(f"the second factor adds {with_mfa - without:.1f} ms ({with_mfa / without - 1:.0%}), four requests")


if __name__ == "__main__":
    main()
