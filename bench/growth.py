"""Bounded growth, measured on a real one-worker server with the embedded store:

- abandoned journeys: what 10,000 GETs of the authorization endpoint from one address leave in
  the store, with the per-address limit on journeys begun off and at its default;
- a purge of 200,000 expired journeys while sign-ins run: the sign-ins' latency percentiles
  against the same load without anything to purge.

    .venv/bin/python -m bench.growth [--gets 10000] [--expired 200000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx2

from bench.browsers import authorize_params, in_browsers
from bench.harness import LOAD_SETTINGS, machine
from bench.memory import store_bytes
from bench.sign_in import Timer, one_sign_in
from server.settings import Settings
from tests.e2e.server import RunningServer, start_server

BROWSERS = 16
PURGE_AFTER = 12.0  # seconds from start-up to the first purge
PURGED = re.compile(r"purged (\d+) expired documents in ([0-9.]+) s")


async def abandon(issuer: str, gets: int) -> dict[int, int]:
    """`gets` fresh browsers' GETs of /authorize, never followed: how many got each status."""
    statuses: dict[int, int] = {}

    async def visit(http: httpx2.AsyncClient) -> None:
        http.cookies.clear()
        answer = await http.get("/authorize", params=authorize_params(secrets.token_urlsafe(48)))
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    await in_browsers(issuer, visit, BROWSERS, count=gets)
    return statuses


def stored_runs(server: RunningServer) -> tuple[int, int]:
    """Journeys in the store, and the bytes of their table's pages."""
    db = server.config.parent / "gatehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = int(conn.execute("SELECT count(*) FROM flow_runs").fetchone()[0])
    return rows, store_bytes(db)["flow_runs"]


def abandoned_journeys(workdir: Path, gets: int) -> list[str]:
    default = Settings.model_fields["runs_per_minute_per_address"].default
    lines = [f"### {gets:,} abandoned GETs of /authorize from one address ({BROWSERS} at once)",
             "", "| per-address limit | begun (303) | refused (429) | journeys stored |"
             " store bytes | bytes per journey | seconds |", "|---|---|---|---|---|---|---|"]
    for limit in (0, default):
        (home := workdir / f"abandoned-{limit}").mkdir()
        server = start_server(home, runs_per_minute_per_address=limit)
        try:
            before, before_bytes = stored_runs(server)
            start = time.perf_counter()
            statuses = asyncio.run(abandon(server.issuer, gets))
            took = time.perf_counter() - start
            rows, size = stored_runs(server)
        finally:
            server.stop()
        made = rows - before
        per = (size - before_bytes) / made if made else 0
        lines.append(f"| {limit or 'off'}{' a minute' if limit else ''} | {statuses.get(303, 0):,}"
                     f" | {statuses.get(429, 0):,} | {made:,} | {size - before_bytes:,}"
                     f" | {per:,.0f} | {took:.1f} |")
    return lines


def add_expired_runs(server: RunningServer, count: int) -> None:
    """`count` copies of a real stored journey, expired, written while the server is stopped."""
    db = server.config.parent / "gatehouse.db"
    with sqlite3.connect(db) as conn:
        version, data = conn.execute("SELECT version, data FROM flow_runs LIMIT 1").fetchone()
        past = time.time() - 60
        conn.executemany(
            "INSERT INTO flow_runs (id, version, expires_at, data) VALUES (?, ?, ?, ?)",
            ((f"expired-{n}", version, past, data) for n in range(count)),
        )


async def timed_sign_ins(issuer: str, seconds: float) -> list[float]:
    """Milliseconds of each whole sign-in (seven requests) by 4 browsers for `seconds`."""
    took: list[float] = []

    async def visit(http: httpx2.AsyncClient) -> None:
        start = time.perf_counter()
        await one_sign_in(http, Timer())
        took.append((time.perf_counter() - start) * 1000)

    await in_browsers(issuer, visit, 4, seconds=seconds)
    return took


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def purge_under_load(workdir: Path, expired: int, seconds: float) -> list[str]:
    lines = [f"### A purge of {expired:,} expired journeys while 4 browsers sign in for"
             f" {seconds:.0f} s", "", "| store | sign-ins | median ms | p99 ms | max ms"
             " | purged | purge seconds |", "|---|---|---|---|---|---|---|"]
    for label, count in (("nothing to purge", 0), (f"{expired:,} expired journeys", expired)):
        (home := workdir / f"purge-{count}").mkdir()
        server = start_server(home, **LOAD_SETTINGS)
        asyncio.run(abandon(server.issuer, 1))
        server.stop()
        add_expired_runs(server, count)
        server = start_server(home, **LOAD_SETTINGS, purge_interval=PURGE_AFTER)
        try:
            took = asyncio.run(timed_sign_ins(server.issuer, seconds))
        finally:
            server.stop()
        log = server.log.read_text()
        purges = PURGED.findall(log)
        purged = sum(int(n) for n, _ in purges)
        spans = "+".join(s for _, s in purges) or "-"
        lines.append(f"| {label} | {len(took)} | {statistics.median(took):.0f}"
                     f" | {percentile(took, 0.99):.0f} | {max(took):.0f} | {purged:,}"
                     f" | {spans} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=10_000)
    parser.add_argument("--expired", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--only", choices=["abandoned", "purge"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("; ".join(f"{k}: {v}" for k, v in machine().items()) + "\n")
        if args.only != "purge":
            print("\n".join(abandoned_journeys(workdir, args.gets)) + "\n")
        if args.only != "abandoned":
            print("\n".join(purge_under_load(workdir, args.expired, args.seconds)))


if __name__ == "__main__":
    main()
