"""Bounded growth in the embedded store and its process: a new file is in incremental auto-vacuum
mode, purges hand free pages back and `compact` rewrites a file without them; the cache of
client records keeps a bounded number."""

from __future__ import annotations

from pathlib import Path

from store import ClientRecord, open_store
from store.document_store import CLIENT_CACHE_SIZE, DocumentStore
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


async def test_the_client_cache_keeps_the_most_recently_read(tmp_path: Path) -> None:
    """Self-registered clients can be many: the process keeps at most CLIENT_CACHE_SIZE."""
    store = await open_store("sqlite://:memory:")
    try:
        assert isinstance(store, DocumentStore)
        for i in range(CLIENT_CACHE_SIZE + 50):
            await store.clients.put(ClientRecord(client_id=f"c{i}"))
            assert await store.clients.get(f"c{i}") is not None
        await store.clients.get("c0")  # read again: the most recent now
        kept = store.clients._read  # noqa: SLF001  # the bound is what is tested
        assert len(kept) == CLIENT_CACHE_SIZE and "c0" in kept and "c1" not in kept
    finally:
        await store.close()
