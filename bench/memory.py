"""Memory per 10,000 sign-in journeys and per 10,000 sessions, made through the real servers:
Gatehouse's store (SQLite pages by table) and process, the peer's live heap and process."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.browsers import Visit, begin_journey, gatehouse_sign_in, in_browsers, peer_sign_in
from bench.harness import LOAD_SETTINGS, rss_bytes, start_peer
from tests.e2e.server import start_server

BROWSERS = 8
PER = 10_000


def store_bytes(path: Path) -> dict[str, int]:
    """Bytes of the pages each table and its indexes take (SQLite's dbstat), as committed."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_schema").fetchall())
        sizes = {name: 0 for name, table in owner.items() if name == table}
        for name, size in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            if owner.get(name) in sizes:
                sizes[owner[name]] += size
    return sizes


@dataclass
class Memory:
    """Growth per 10,000, by what was made ("runs", "sessions")."""

    count: int  # how many of each were made
    store: dict[str, dict[str, int]] = field(default_factory=dict)  # Gatehouse: bytes by table
    rss: dict[str, int] = field(default_factory=dict)  # Gatehouse process
    peer_heap: dict[str, int] = field(default_factory=dict)  # live JavaScript objects
    peer_rss: dict[str, int] = field(default_factory=dict)


def measure_memory(workdir: Path, count: int) -> Memory:
    """Fresh one-worker servers; on each, `count` journeys begun, then `count` full sign-ins."""
    memory, scale = Memory(count), PER / count
    with ExitStack() as stack:
        (workdir / "gatehouse-memory").mkdir()
        gatehouse = start_server(workdir / "gatehouse-memory", **LOAD_SETTINGS,
                                 max_sessions_per_user=10_000)  # one user signs in 10,000 times
        stack.callback(gatehouse.stop)
        peer = start_peer(1, workdir / "peer-memory.log")
        stack.callback(peer.stop)
        db = gatehouse.config.parent / "gatehouse.db"

        def made(issuer: str, visit: Visit, n: int) -> None:
            asyncio.run(in_browsers(issuer, visit, BROWSERS, count=n))

        made(gatehouse.issuer, gatehouse_sign_in, 20)  # warm: imports, caches, pools
        made(peer.issuer, peer_sign_in, 20)
        for what, ours, theirs in (
            ("runs", begin_journey("/authorize"), begin_journey("/auth")),
            ("sessions", gatehouse_sign_in, peer_sign_in),
        ):
            tables, rss = store_bytes(db), rss_bytes(gatehouse.process.pid)
            made(gatehouse.issuer, ours, count)
            memory.store[what] = {
                name: round((size - tables.get(name, 0)) * scale)
                for name, size in store_bytes(db).items() if size != tables.get(name, 0)}
            memory.rss[what] = round((rss_bytes(gatehouse.process.pid) - rss) * scale)
            heap, rss = peer.live_heap(), rss_bytes(peer.process.pid)
            made(peer.issuer, theirs, count)
            memory.peer_heap[what] = round((peer.live_heap() - heap) * scale)
            memory.peer_rss[what] = round((rss_bytes(peer.process.pid) - rss) * scale)
            print(f"  memory: {what} done", file=sys.stderr)
    return memory


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def memory_rows(memory: Memory) -> list[list[str]]:
    rows = []
    for what, label in (("runs", "Sign-in journeys begun (a GET of the authorization endpoint)"),
                        ("sessions", "Sessions (full sign-ins with the code exchange)")):
        tables = memory.store[what]
        detail = ", ".join(f"{name} {mib(size)}" for name, size in sorted(
            tables.items(), key=lambda item: -item[1]) if size >= 2**16)
        rows.append([label, f"{mib(sum(tables.values()))} ({detail})", mib(memory.rss[what]),
                     mib(memory.peer_heap[what]), mib(memory.peer_rss[what])])
    return rows
