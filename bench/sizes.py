"""What each thing Gatehouse keeps costs in the embedded store: bytes of SQLite pages (tables
and their indexes, `dbstat`) per user, per sign-in (session, grant, code, refresh token, audit
events) and per token, made through a real one-worker server and its CLI.

    .venv/bin/python -m bench.sizes [--users 10000] [--sign-ins 2000] [--tokens 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx2
from argon2 import PasswordHasher

from bench.browsers import in_browsers
from bench.harness import LOAD_SETTINGS, machine
from bench.memory import store_bytes
from bench.sign_in import Timer, one_sign_in
from tests.e2e.server import (
    REFERENCE_SECRET,
    SERVICE_SECRET,
    RunningServer,
    gatehouse,
    start_server,
)

# What each table holds, and for how long (the settings' defaults).
KEPT = {
    "users": "until deleted",
    "credentials": "until removed",
    "sessions": "session_lifetime (8 h), or logout",
    "grants": "their refresh token's life, or the access token's",
    "codes": "code_lifetime (60 s), then the next purge",
    "refresh_tokens": "until used (then kept to detect replay) or expired",
    "access_tokens": "access_token_lifetime (10 min): reference tokens only",
    "audit_events": "audit_retention (90 days)",
    "flow_runs": "run_lifetime (30 min) + 1 h",
    "run_logs": "run_log_retention (1 day)",
}


def tables(server: RunningServer) -> tuple[dict[str, int], dict[str, int]]:
    """Bytes and rows of each table."""
    db = server.config.parent / "gatehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")]
        rows = {n: int(conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0]) for n in names}
    return store_bytes(db), rows


def growth(server: RunningServer, make: Callable[[], None]) -> dict[str, tuple[int, int]]:
    """(bytes, rows) that `make` added, by table."""
    size, rows = tables(server)
    make()
    after_size, after_rows = tables(server)
    return {n: (after_size[n] - size.get(n, 0), after_rows[n] - rows.get(n, 0))
            for n in after_size if after_rows[n] != rows.get(n, 0)}


def import_users(server: RunningServer, count: int) -> None:
    hashed = PasswordHasher().hash("a password of some length")
    file = server.config.parent / "users.jsonl"
    file.write_text("".join(json.dumps({
        "username": f"person{n}", "email": f"person{n}@example.com", "name": f"Person {n}",
        "groups": ["staff"], "password_hash": hashed,
    }) + "\n" for n in range(count)))
    imported = gatehouse(server.config, "users", "import", str(file))
    assert imported.returncode == 0, imported.stderr


def tokens(issuer: str, client: tuple[str, str], count: int) -> None:
    async def visit(http: httpx2.AsyncClient) -> None:
        answer = await http.post("/token", auth=client, data={"grant_type": "client_credentials"})
        assert answer.status_code == 200, answer.text

    asyncio.run(in_browsers(issuer, visit, 8, count=count))


def sign_ins(issuer: str, count: int) -> None:
    async def visit(http: httpx2.AsyncClient) -> None:
        await one_sign_in(http, Timer(), scope="openid profile offline_access")

    asyncio.run(in_browsers(issuer, visit, 8, count=count))


def rows(label: str, made: int, added: dict[str, tuple[int, int]]) -> list[str]:
    if not added:
        return [f"| {label} | nothing | 0 | 0 | |"]
    return [f"| {label} | {table} | {n / made:.2f} | {size / n:,.0f} | {KEPT.get(table, '')} |"
            for table, (size, n) in sorted(added.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--sign-ins", type=int, default=2_000)
    parser.add_argument("--tokens", type=int, default=5_000)
    args = parser.parse_args()
    print("; ".join(f"{k}: {v}" for k, v in machine().items()) + "\n")
    print("| made | table | rows each | bytes per row | kept for |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), **LOAD_SETTINGS, max_sessions_per_user=10_000)
        try:
            measures: list[tuple[str, int, Callable[[], None]]] = [
                ("a user (imported: email, name, a group, a password hash)", args.users,
                 lambda: import_users(server, args.users)),
                ("a sign-in with offline_access (code exchanged)", args.sign_ins,
                 lambda: sign_ins(server.issuer, args.sign_ins)),
                ("a client_credentials token, JWT", args.tokens,
                 lambda: tokens(server.issuer, ("service", SERVICE_SECRET), args.tokens)),
                ("a client_credentials token, reference", args.tokens,
                 lambda: tokens(server.issuer, ("ref-app", REFERENCE_SECRET), args.tokens)),
            ]
            for label, count, make in measures:
                print("\n".join(rows(label, count, growth(server, make))), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
