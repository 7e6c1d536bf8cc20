"""A table of JSON documents keyed by id, with optional expiry, version and unique columns."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Generic

import aiosqlite

from store.documents import D, PageQuery, cursor_value
from store.errors import DuplicateError, StaleVersionError, StoreUnavailableError

Params = dict[str, object] | Sequence[object]
LIKE_ESCAPES = str.maketrans({"%": "\\%", "_": "\\_", "\\": "\\\\"})


class DocumentTable(Generic[D]):
    """`Documents` in one SQLite table: `id`, `version`, `expires_at`, `data` (the JSON document)
    and one column per unique lookup key (stored lower-cased)."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        name: str,
        model: type[D],
        id_field: str = "id",
        unique: Sequence[str] = (),
        indexed: Sequence[str] = (),
        ordered: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.db, self.name, self.model = db, name, model
        self.id_field, self.unique, self.indexed = id_field, unique, indexed
        self.ordered = ordered

    async def create(self) -> None:
        extra = "".join(f", {column} TEXT UNIQUE" for column in self.unique)
        await self._execute(
            f"CREATE TABLE IF NOT EXISTS {self.name} (id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
            f" expires_at REAL, data TEXT NOT NULL{extra})"
        )
        await self._execute(
            f"CREATE INDEX IF NOT EXISTS {self.name}_expires ON {self.name} (expires_at)"
        )
        for field in self.indexed:
            await self._execute(
                f"CREATE INDEX IF NOT EXISTS {self.name}_{field} ON {self.name}"
                f" (json_extract(data, '$.{field}'))"
            )
        for field, order in self.ordered:
            await self._execute(
                f"CREATE INDEX IF NOT EXISTS {self.name}_{field}_{order} ON {self.name}"
                f" (json_extract(data, '$.{field}'), json_extract(data, '$.{order}') DESC)"
            )

    async def _execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement (its own transaction); the number of rows it changed."""
        try:
            cursor = await self.db.execute(sql, params)
            await cursor.close()
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"{self.name}: {exc}") from exc
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StoreUnavailableError(f"{self.name}: {exc}") from exc
            raise
        return cursor.rowcount

    async def _rows(self, sql: str, params: Params = ()) -> Iterable[sqlite3.Row]:
        """Run a statement and fetch its rows in one step on the connection's thread: a statement
        left open between steps keeps an old snapshot, and another process's commit then makes
        the next write here fail at once (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out)."""
        try:
            return await self.db.execute_fetchall(sql, params)
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StoreUnavailableError(f"{self.name}: {exc}") from exc
            raise

    def _models(self, rows: Iterable[sqlite3.Row]) -> list[D]:
        return [self.model.model_validate_json(row[0]) for row in rows]

    def _row(self, doc: D) -> dict[str, object]:
        row: dict[str, object] = {
            "id": getattr(doc, self.id_field),
            "version": getattr(doc, "version", 0),
            "expires_at": getattr(doc, "expires_at", None),
            "data": doc.model_dump_json(),
        }
        for column in self.unique:
            value = getattr(doc, column)
            row[column] = value.lower() if isinstance(value, str) else None
        return row

    async def _insert(self, doc: D, on_conflict: str = "") -> int:
        row = self._row(doc)
        columns = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        return await self._execute(
            f"INSERT INTO {self.name} ({columns}) VALUES ({marks}) {on_conflict}", row
        )

    async def insert(self, doc: D) -> None:
        await self._insert(doc)

    async def upsert(self, doc: D) -> None:
        # Not INSERT OR REPLACE: that would delete another row holding one of the unique keys.
        sets = ", ".join(f"{c} = excluded.{c}" for c in self._row(doc) if c != "id")
        await self._insert(doc, f"ON CONFLICT (id) DO UPDATE SET {sets}")

    async def insert_if_absent(self, doc: D) -> bool:
        return await self._insert(doc, "ON CONFLICT (id) DO NOTHING") == 1

    async def get(self, doc_id: str, now: float | None = None) -> D | None:
        return await self._one("id", doc_id, now)

    async def find_one(self, field: str, value: str) -> D | None:
        if field not in self.unique:
            raise ValueError(f"{self.name}.{field} is not a unique field")
        return await self._one(field, value.lower(), None)

    async def _one(self, column: str, value: str, now: float | None) -> D | None:
        sql = f"SELECT data FROM {self.name} WHERE {column} = ?"
        params: list[object] = [value]
        if now is not None:
            sql += " AND (expires_at IS NULL OR expires_at > ?)"
            params.append(now)
        found = self._models(await self._rows(sql, params))
        return found[0] if found else None

    async def find_all(self, field: str, value: str) -> list[D]:
        return self._models(await self._rows(
            f"SELECT data FROM {self.name} WHERE json_extract(data, '$.{field}') = ?", [value]
        ))

    async def find_newest(
        self, field: str, value: str, order: str, limit: int, now: float | None = None
    ) -> list[D]:
        if (field, order) not in self.ordered:
            raise ValueError(f"{self.name} has no index of {field} by {order}")
        sql = f"SELECT data FROM {self.name} WHERE json_extract(data, '$.{field}') = ?"
        params: list[object] = [value]
        if now is not None:
            sql += " AND (expires_at IS NULL OR expires_at > ?)"
            params.append(now)
        sql += f" ORDER BY json_extract(data, '$.{order}') DESC LIMIT ?"
        return self._models(await self._rows(sql, [*params, limit]))

    async def count(self, field: str, value: str, now: float) -> int:
        [(found,)] = await self._rows(
            f"SELECT count(*) FROM {self.name} WHERE json_extract(data, '$.{field}') = ?"
            " AND (expires_at IS NULL OR expires_at > ?)", [value, now]
        )
        return int(found)

    async def all(self) -> list[D]:
        return self._models(await self._rows(f"SELECT data FROM {self.name} ORDER BY rowid"))

    async def page(self, query: PageQuery) -> list[D]:
        where: list[str] = []
        params: list[object] = []
        for name, value in query.equal.items():
            where.append(f"json_extract(data, '$.{name}') = ?")
            params.append(value)
        if query.text and query.text_fields:
            like = "%" + query.text.lower().translate(LIKE_ESCAPES) + "%"
            where.append("(" + " OR ".join(
                f"lower(json_extract(data, '$.{name}')) LIKE ? ESCAPE '\\'"
                for name in query.text_fields
            ) + ")")
            params.extend([like] * len(query.text_fields))
        order = f"json_extract(data, '$.{query.order}')"
        if query.since is not None:
            where.append(f"{order} >= ?")
            params.append(query.since)
        if query.until is not None:
            where.append(f"{order} < ?")
            params.append(query.until)
        if query.after is not None:
            where.append(f"({order}, id) {'>' if query.ascending else '<'} (?, ?)")
            params.extend([cursor_value(query.after[0]), query.after[1]])
        if query.now is not None:
            where.append("(expires_at IS NULL OR expires_at > ?)")
            params.append(query.now)
        sql = f"SELECT data FROM {self.name}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        direction = "ASC" if query.ascending else "DESC"
        sql += f" ORDER BY {order} {direction}, id {direction} LIMIT ?"
        return self._models(await self._rows(sql, [*params, query.limit]))

    async def replace(self, doc: D) -> None:
        await self._update(doc, None)

    async def replace_versioned(self, doc: D) -> None:
        versioned: Any = doc  # every versioned document has an int `version`
        expected: int = versioned.version
        versioned.version = expected + 1
        try:
            changed = await self._update(doc, expected)
        except BaseException:
            versioned.version = expected
            raise
        if changed != 1:
            versioned.version = expected
            raise StaleVersionError(
                f"{self.name} {getattr(doc, self.id_field)} changed since version {expected}"
            )

    async def _update(self, doc: D, expected: int | None) -> int:
        row = self._row(doc)
        sets = ", ".join(f"{c} = :{c}" for c in row if c != "id")
        sql = f"UPDATE {self.name} SET {sets} WHERE id = :id"
        if expected is not None:
            sql += " AND version = :expected"
        return await self._execute(sql, {**row, "expected": expected})

    async def delete(self, doc_id: str, version: int | None = None) -> bool:
        sql = f"DELETE FROM {self.name} WHERE id = ?"
        params: list[object] = [doc_id]
        if version is not None:
            sql += " AND version = ?"
            params.append(version)
        return await self._execute(sql, params) == 1

    async def delete_expired(self, doc_id: str, now: float) -> None:
        await self._execute(
            f"DELETE FROM {self.name} WHERE id = ? AND expires_at <= ?", [doc_id, now]
        )

    async def claim(self, doc_id: str, now: float, client_id: str) -> D | None:
        """One UPDATE ... RETURNING: atomic across processes sharing the file."""
        claimed = self._models(await self._rows(
            f"UPDATE {self.name} SET version = 1, data = json_set(data, '$.version', 1)"
            " WHERE id = ? AND version = 0 AND expires_at > ?"
            " AND json_extract(data, '$.client_id') = ? RETURNING data",
            [doc_id, now, client_id],
        ))
        return claimed[0] if claimed else None

    async def set_field(self, doc_id: str, field: str, value: Any) -> None:
        await self._execute(
            f"UPDATE {self.name} SET data = json_set(data, ?, json(?)) WHERE id = ?",
            [f"$.{field}", json.dumps(value), doc_id],
        )

    async def purge_expired(self, now: float, batch: int) -> int:
        return await self._execute(
            f"DELETE FROM {self.name} WHERE rowid IN"
            f" (SELECT rowid FROM {self.name} WHERE expires_at <= ? LIMIT ?)",
            [now, batch],
        )


def _busy(exc: sqlite3.OperationalError) -> bool:
    """A locked or busy database (another process held the write lock past the busy timeout) is
    a moment's unavailability; any other operational error is a bug and stays one."""
    message = str(exc).lower()
    return "locked" in message or "busy" in message or "disk i/o" in message
