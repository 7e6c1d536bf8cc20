"""`/healthz` says the process serves; `/readyz` says the store answers too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.e2e.server import RunningServer, start_server
from tests.mongodb_server import start_secantusdb
from tests.observe.support import wait_for


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("health"))
    yield running
    running.stop()


async def test_healthz_and_readyz_answer_ok_with_the_security_headers(
    server: RunningServer,
) -> None:
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        for path in ("/healthz", "/readyz"):
            response = await http.get(path)
            assert response.status_code == 200, path
            assert response.json() == {"status": "ok"}
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["cache-control"] == "no-store"
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert response.headers["x-request-id"]
        assert (await http.post("/healthz")).status_code == 405


async def test_readyz_is_503_while_the_store_is_down_and_healthz_stays_up(
    tmp_path: Path,
) -> None:
    storage, log = tmp_path / "secantus-data", tmp_path / "secantusd.log"
    mongo = start_secantusdb(log, storage=storage)
    port = int(mongo.base_url.rsplit(":", 1)[1])
    gatehouse = start_server(
        tmp_path, store=mongo.url("gatehouse") + "?serverSelectionTimeoutMS=500"
    )
    http = httpx2.AsyncClient(base_url=gatehouse.issuer, timeout=10)
    try:
        assert (await http.get("/readyz")).status_code == 200

        assert mongo.process is not None
        mongo.process.kill()
        mongo.process.wait()
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable"}
        assert ready.headers["retry-after"] == "5"
        assert ready.headers["cache-control"] == "no-store"
        alive = await http.get("/healthz")
        assert alive.status_code == 200 and alive.json() == {"status": "ok"}

        mongo = start_secantusdb(log, port, storage)
        # The driver finds the server again on its own schedule: ask until it has.
        wait_for(lambda: httpx2.get(f"{gatehouse.issuer}/readyz").status_code == 200 or None)
    finally:
        await http.aclose()
        gatehouse.stop()
        mongo.stop()
