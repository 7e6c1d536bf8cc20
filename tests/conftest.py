"""Fixtures every room may use: the store backends the contract suite and the multi-process tests
run against, and the end of the run's report (tests/run_report.py), which names those servers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from store import Store, open_store
from tests import run_report
from tests.mongodb_server import (
    REAL_MONGODB_ENV,
    MongoServer,
    mongo_backends,
    real_mongodb,
    start_secantusdb,
)

BACKENDS = "store backends tested"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_backend" in metafunc.fixturenames:
        metafunc.parametrize("store_backend", ["sqlite", *mongo_backends()], indirect=True)


@pytest.fixture(scope="session")
def secantusdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    server = start_secantusdb(tmp_path_factory.mktemp("secantusdb") / "secantusd.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongodb() -> MongoServer:
    server = real_mongodb()
    assert server is not None, f"{REAL_MONGODB_ENV} is not set"
    return server


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(
    store_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A new, empty store of the backend under test (a file, or a database of its own)."""
    if store_backend == "sqlite":
        run_report.note(BACKENDS, "sqlite", "embedded SQLite")
        yield f"sqlite:///{tmp_path / 'gatehouse.db'}"
        return
    server: MongoServer = request.getfixturevalue(store_backend)
    run_report.note(BACKENDS, server.label, f"{server.label} {server.version} at {server.base_url}")
    url = server.url()
    yield url
    server.drop(url)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # a pytest-xdist worker: the controller writes the report
        output["report"] = run_report.SECTIONS


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist: a worker has finished, with its part of the report."""
    run_report.merge(getattr(node, "workeroutput", {}).get("report"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    run_report.write(terminalreporter)
    if not os.environ.get(REAL_MONGODB_ENV):
        terminalreporter.write_line(
            f"(no real MongoDB: set {REAL_MONGODB_ENV}=mongodb://... to run the store tests"
            " against one as well)"
        )
