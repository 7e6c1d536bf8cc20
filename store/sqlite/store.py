"""The SQLite store: one connection in autocommit mode, so each statement is its own transaction.

WAL mode and a busy timeout let several server processes share the file.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

from store.document_store import DocumentStore
from store.documents import D, Documents
from store.errors import StoreUnavailableError
from store.sqlite.documents import DocumentTable
from store.sqlite.file_mode import make_private


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
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA synchronous=NORMAL")
        store = cls(db)
        for table in store.tables:
            await table.create()
        return store

    async def ping(self) -> None:
        try:
            await self.db.execute_fetchall("SELECT 1")
        except (sqlite3.Error, ValueError) as exc:  # ValueError: the connection is closed
            raise StoreUnavailableError(f"sqlite: {exc}") from exc

    async def close(self) -> None:
        await self.db.close()
