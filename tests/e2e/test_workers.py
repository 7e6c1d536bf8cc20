"""`gatehouse serve --workers N`: several processes share the port (each with a socket of its own)
and the store; a worker that dies is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx2

from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.server import ALICE, gatehouse, start_server
from tests.e2e.test_mfa_in_chromium import CHALLENGE, VERIFIER

CALLBACK = "https://spa.example/callback"
AUTHORIZE = (f"/authorize?client_id=public-app&redirect_uri={CALLBACK}&response_type=code"
             f"&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


async def sign_in(issuer: str) -> int:
    browser = FormBrowser(issuer)
    try:
        _, params = redirect_params(await browser.sign_in(AUTHORIZE, *ALICE))
        token = await browser.http.post("/token", data={
            "grant_type": "authorization_code", "code": params["code"], "client_id": "public-app",
            "redirect_uri": CALLBACK, "code_verifier": VERIFIER})
        return token.status_code
    finally:
        await browser.close()


async def test_two_workers_serve_concurrent_sign_ins_and_stop_together(tmp_path: Path) -> None:
    server = start_server(tmp_path, serve_args=("--workers", "2"))
    try:
        workers = children(server.process.pid)
        assert len(workers) >= 2, workers  # the two workers (and uvicorn's helper, if any)
        assert await asyncio.gather(*(sign_in(server.issuer) for _ in range(8))) == [200] * 8
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()
    deadline = time.monotonic() + 10  # a helper process may take a moment after the master
    while alive := [pid for pid in workers if running(pid)]:
        assert time.monotonic() < deadline, alive
        time.sleep(0.1)


def running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except FileNotFoundError:
        return False


def test_workers_refuse_a_store_only_one_process_can_see(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("issuer: http://127.0.0.1:9\nstore: 'sqlite://'\n")
    refused = gatehouse(config, "serve", "--workers", "2")
    assert refused.returncode != 0
    assert "needs a shared store" in refused.stderr


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def workers_of(pid: int) -> list[int]:
    """The worker processes (not multiprocessing's helper, if one is running)."""
    return [c for c in children(pid) if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_text()]


async def test_each_worker_takes_its_share_of_keep_alive_connections(tmp_path: Path) -> None:
    """Each worker listens on a socket of its own: the kernel spreads new connections, so a
    pool of keep-alive connections does not all land on one worker."""
    server = start_server(tmp_path, serve_args=("--workers", "2"))
    try:
        workers = workers_of(server.process.pid)
        assert len(workers) == 2, workers
        before = {pid: cpu_ticks(pid) for pid in workers}
        clients = [httpx2.AsyncClient(base_url=server.issuer) for _ in range(20)]
        try:
            for _ in range(15):
                answers = await asyncio.gather(*(c.get("/.well-known/openid-configuration")
                                                 for c in clients))
                assert {a.status_code for a in answers} == {200}
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        used = {pid: cpu_ticks(pid) - before[pid] for pid in workers}
        assert all(ticks > 0 for ticks in used.values()), used  # 20 connections: both served
    finally:
        server.stop()


async def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    server = start_server(tmp_path, serve_args=("--workers", "2"))
    try:
        first, second = workers_of(server.process.pid)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while len(now := workers_of(server.process.pid)) < 2 or first in now:
            assert time.monotonic() < deadline, now
            await asyncio.sleep(0.2)
        assert second in now
        assert await sign_in(server.issuer) == 200
        assert "exited with -9; starting another" in server.log.read_text()
    finally:
        server.stop()
