"""`gatehouse serve --workers N`: several processes share the port and the store."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

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
