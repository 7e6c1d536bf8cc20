"""The embedded store gives freed space back: a new file is in incremental auto-vacuum mode, a
purge hands free pages back a few at a time, and `compact` rewrites an older file without them."""

from __future__ import annotations

from pathlib import Path

from store import open_store
from tests.store.test_store_contract import NOW, code


async def test_purges_and_compact_shrink_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gatehouse.db"
    store = await open_store(f"sqlite:///{path}")
    try:
        mode = await store.db.execute_fetchall("PRAGMA auto_vacuum")  # type: ignore[attr-defined]
        assert list(mode) == [(2,)]  # INCREMENTAL
        for i in range(3000):
            await store.codes.add(code(f"c-{i}" + "x" * 200, expires_at=NOW + 10))
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
        full = path.stat().st_size
        assert await store.purge_expired(NOW + 10) == 3000
        await store.compact()
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
        assert path.stat().st_size < full / 2, (path.stat().st_size, full)
    finally:
        await store.close()
