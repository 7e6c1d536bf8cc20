"""The SQLite store's file and its -wal and -shm companions are readable by their owner only."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import open_store

FILES = ("gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems give a process: new files readable by everyone (0644)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_a_new_store_is_created_readable_by_its_owner_only(
    tmp_path: Path, usual_umask: None
) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'gatehouse.db'}")
    try:
        await store.secrets.get_or_create("cookie-key", "k")  # a write: the WAL is in use
        assert {name: mode(tmp_path / name) for name in FILES} == dict.fromkeys(FILES, 0o600)
    finally:
        await store.close()


async def test_a_store_readable_by_others_is_tightened_with_a_warning(
    tmp_path: Path, usual_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gatehouse.db"
    earlier = sqlite3.connect(path)  # a store an earlier version made, still open: WAL files too
    try:
        earlier.execute("PRAGMA journal_mode=WAL")
        earlier.execute("CREATE TABLE t (x)")
        for name in FILES:
            (tmp_path / name).chmod(0o644)
        with caplog.at_level(logging.WARNING, logger="gatehouse.store"):
            store = await open_store(f"sqlite:///{path}")
        await store.close()
        assert {name: mode(tmp_path / name) for name in FILES} == dict.fromkeys(FILES, 0o600)
    finally:
        earlier.close()
    warned = [r.getMessage() for r in caplog.records if r.name == "gatehouse.store"]
    assert [m.split(" was readable")[0] for m in warned] == [str(tmp_path / n) for n in FILES]
    assert all("mode 644" in m for m in warned)
