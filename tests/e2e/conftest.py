from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import FormBrowser
from tests.e2e.server import RunningServer, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("gatehouse"))
    yield running
    running.stop()


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[FormBrowser]:
    b = FormBrowser(server.issuer)
    yield b
    await b.close()


@pytest.fixture
def artifacts() -> Path:
    path = Path(__file__).resolve().parents[2] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
