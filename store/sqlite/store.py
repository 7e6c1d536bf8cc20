"""The SQLite store: one connection in autocommit mode, so each statement is its own transaction.

WAL mode and a busy timeout let several server processes share the file.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

from store.document_store import PURGE_BATCH, DocumentStore
from store.documents import D, Documents
from store.errors import StoreUnavailableError
from store.sqlite.documents import DocumentTable
from store.sqlite.file_mode import make_private

VACUUM_PAGES = 2000  # free pages handed back to the file system after each purge (8 MB at 4 KB)


class SqliteStore(DocumentStore):
    """The embedded default store."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self.tables: list[DocumentTable[Any]] = []
        super().__init__()

    def collection(
        self,
        name: str,
        model: type[D],
        id_field: str,
        unique: tuple[str, ...],
        indexed: tuple[str, ...],
        ordered: tuple[tuple[str, str], ...],
    ) -> Documents[D]:
        table = DocumentTable(self.db, name, model, id_field, unique, indexed, ordered)
        self.tables.append(table)
        return table

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        if path != ":memory:":
            make_private(path)
        db = await aiosqlite.connect(path, isolation_level=None)
        # A new file gives freed pages back to the file system, a few at each purge (an older
        # file takes the setting at `gatehouse store compact`).
        await db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA synchronous=NORMAL")
        store = cls(db)
        for table in store.tables:
            await table.create()
        return store

    async def purge_expired(self, now: float, batch: int = PURGE_BATCH) -> int:
        dropped = await super().purge_expired(now, batch)
        await self.db.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})")
        return dropped

    async def compact(self) -> None:
        """Rewrite the file without its free pages (VACUUM), in incremental auto-vacuum mode
        from then on. It holds the write lock while it runs: do it when the server is quiet."""
        await self.db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        await self.db.execute("VACUUM")

    async def backup(self, target: str) -> None:
        """SQLite's online backup in one step: a snapshot taken while writers go on (WAL), so the
        copy is consistent; created readable by its owner only, and checked before it counts."""
        make_private(target)
        copy = await aiosqlite.connect(target, isolation_level=None)
        try:
            await self.db.backup(copy)
            checked = await copy.execute_fetchall("PRAGMA quick_check")
        finally:
            await copy.close()
        if [tuple(row) for row in checked] != [("ok",)]:
            raise ValueError(f"the copy at {target} does not pass SQLite's quick_check: {checked}")

    async def ping(self) -> None:
        try:
            await self.db.execute_fetchall("SELECT 1")
        except (sqlite3.Error, ValueError) as exc:  # ValueError: the connection is closed
            raise StoreUnavailableError(f"sqlite: {exc}") from exc

    async def close(self) -> None:
        await self.db.close()
