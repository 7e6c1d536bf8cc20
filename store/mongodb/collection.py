"""`Documents` in one MongoDB collection, through PyMongo's native async API.

A document is stored as its fields, with the id field as `_id`, plus fields the store adds:
`_lc_<field>` (a unique field lower-cased, for case-insensitive uniqueness) and `_expire_at` (a
date for the TTL index, which deletes a document once it has expired; reads do not wait for it).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
    WriteConcernError,
)

from store.documents import D, PageQuery, cursor_value
from store.errors import DuplicateError, StaleVersionError, StoreUnavailableError

R = TypeVar("R")
# Lookups by id that carry more conditions (version, expiry, client) name the id index: every
# server then uses it, whatever its planner makes of the other conditions.
BY_ID = "_id_"
MAX_DATE = 253402300799  # 9999-12-31: the latest date Python can hold, for a TTL
RETRY_DELAYS = (0.1, 0.5)  # further tries of an idempotent operation the driver could not do


@contextmanager
def driver_errors(name: str) -> Iterator[None]:
    """The driver's exceptions as the store's own."""
    try:
        yield
    except DuplicateKeyError as exc:
        raise DuplicateError(f"{name}: {exc.details or exc}") from exc
    except (ConnectionFailure, WriteConcernError) as exc:
        raise StoreUnavailableError(f"{name}: {exc}") from exc
    except PyMongoError as exc:
        if exc.has_error_label("RetryableWriteError") or exc.has_error_label(
            "TransientTransactionError"
        ):
            raise StoreUnavailableError(f"{name}: {exc}") from exc
        raise


def key(value: object) -> str:
    """Ids and looked-up values are strings: never let a dict (a query operator) into a filter."""
    if not isinstance(value, str):
        raise TypeError(f"a store key must be a string, not {type(value).__name__}")
    return value


class MongoCollection(Generic[D]):
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        model: type[D],
        id_field: str = "id",
        unique: tuple[str, ...] = (),
        indexed: tuple[str, ...] = (),
        ordered: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.collection, self.model, self.name = collection, model, collection.name
        self.id_field, self.unique, self.indexed = id_field, unique, indexed
        self.ordered = ordered
        self.expires = "expires_at" in model.model_fields

    async def create_indexes(self) -> None:
        """Idempotent: creating an index that exists with the same options does nothing."""
        with driver_errors(self.name):
            for field in self.unique:
                # sparse: documents without the field (a user with no email) do not collide
                await self.collection.create_index(
                    f"_lc_{field}", unique=True, sparse=True, name=f"unique_{field}"
                )
            for field in self.indexed:
                await self.collection.create_index(field, name=field)
            for field, order in self.ordered:
                await self.collection.create_index(
                    [(field, ASCENDING), (order, DESCENDING)], name=f"{field}_{order}"
                )
            if self.expires:
                await self.collection.create_index(
                    "_expire_at", expireAfterSeconds=0, name="ttl"
                )

    # conversions

    def _document(self, doc: D) -> dict[str, Any]:
        data = doc.model_dump(mode="json")
        data["_id"] = data.pop(self.id_field)
        for field in self.unique:
            if isinstance(data.get(field), str):
                data[f"_lc_{field}"] = data[field].lower()
        if self.expires:
            data["_expire_at"] = datetime.fromtimestamp(min(data["expires_at"], MAX_DATE), UTC)
        return data

    def _model(self, data: dict[str, Any] | None) -> D | None:
        if data is None:
            return None
        data[self.id_field] = data.pop("_id")
        return self.model.model_validate(data)  # the store's own `_` fields are ignored

    def _unexpired(self, query: dict[str, Any], now: float | None) -> dict[str, Any]:
        if now is not None and self.expires:
            query["expires_at"] = {"$gt": now}
        return query

    async def _retried(self, operation: Callable[[], Awaitable[R]]) -> R:
        """Run an idempotent operation, again after a short pause if the store was unreachable
        (the driver itself retries once, on a replica set's new primary)."""
        for delay in (*RETRY_DELAYS, None):
            try:
                with driver_errors(self.name):
                    return await operation()
            except StoreUnavailableError as exc:
                if delay is None or isinstance(exc.__cause__, ServerSelectionTimeoutError):
                    raise  # no primary within serverSelectionTimeoutMS: do not wait again
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    # writes

    async def insert(self, doc: D) -> None:
        with driver_errors(self.name):
            await self.collection.insert_one(self._document(doc))

    async def upsert(self, doc: D) -> None:
        data = self._document(doc)
        await self._retried(
            lambda: self.collection.replace_one({"_id": data["_id"]}, data, upsert=True)
        )

    async def insert_if_absent(self, doc: D) -> bool:
        data = self._document(doc)
        doc_id = data.pop("_id")
        with driver_errors(self.name):
            try:
                result = await self.collection.update_one(
                    {"_id": doc_id}, {"$setOnInsert": data}, upsert=True
                )
            except DuplicateKeyError as exc:
                if "_id" in ((exc.details or {}).get("keyPattern") or {}):
                    return False  # a concurrent upsert of the same id inserted it first
                raise
        return result.upserted_id is not None

    async def replace(self, doc: D) -> None:
        data = self._document(doc)
        with driver_errors(self.name):
            await self.collection.replace_one({"_id": data["_id"]}, data)

    async def replace_versioned(self, doc: D) -> None:
        versioned: Any = doc  # every versioned document has an int `version`
        expected: int = versioned.version
        versioned.version = expected + 1
        data = self._document(doc)
        try:
            with driver_errors(self.name):
                result = await self.collection.replace_one(
                    {"_id": data["_id"], "version": expected}, data, hint=BY_ID
                )
        except BaseException:
            versioned.version = expected
            raise
        if result.matched_count != 1:
            versioned.version = expected
            raise StaleVersionError(f"{self.name} {data['_id']} changed since version {expected}")

    async def delete(self, doc_id: str, version: int | None = None) -> bool:
        query: dict[str, Any] = {"_id": key(doc_id)}
        if version is not None:
            query["version"] = version
        with driver_errors(self.name):
            result = await self.collection.delete_one(query, hint=BY_ID)
        return result.deleted_count == 1

    async def delete_expired(self, doc_id: str, now: float) -> None:
        await self._retried(
            lambda: self.collection.delete_one(
                {"_id": key(doc_id), "expires_at": {"$lte": now}}, hint=BY_ID
            )
        )

    async def claim(self, doc_id: str, now: float, client_id: str) -> D | None:
        """One `find_one_and_update` from version 0: atomic on the server."""
        with driver_errors(self.name):
            claimed = await self.collection.find_one_and_update(
                {"_id": key(doc_id), "version": 0, "expires_at": {"$gt": now},
                 "client_id": key(client_id)},
                {"$set": {"version": 1}},
                return_document=ReturnDocument.AFTER,
                hint=BY_ID,
            )
        return self._model(claimed)

    async def set_field(self, doc_id: str, field: str, value: Any) -> None:
        await self._retried(
            lambda: self.collection.update_one({"_id": key(doc_id)}, {"$set": {field: value}})
        )

    async def purge_expired(self, now: float, batch: int) -> int:
        if not self.expires:
            return 0
        expired = {"expires_at": {"$lte": now}}
        found = await self._retried(
            lambda: self.collection.find(expired, {"_id": 1}).limit(batch).to_list()
        )
        if not found:
            return 0
        ids = [doc["_id"] for doc in found]
        deleted = await self._retried(
            lambda: self.collection.delete_many({"_id": {"$in": ids}, **expired})
        )
        return int(deleted.deleted_count)

    # reads

    async def get(self, doc_id: str, now: float | None = None) -> D | None:
        query = self._unexpired({"_id": key(doc_id)}, now)
        return self._model(
            await self._retried(lambda: self.collection.find_one(query, hint=BY_ID))
        )

    async def find_one(self, field: str, value: str) -> D | None:
        if field not in self.unique:
            raise ValueError(f"{self.name}.{field} is not a unique field")
        query = {f"_lc_{field}": key(value).lower()}
        return self._model(await self._retried(lambda: self.collection.find_one(query)))

    async def find_all(self, field: str, value: str) -> list[D]:
        return await self._list({field: key(value)})

    async def count(self, field: str, value: str, now: float) -> int:
        query = self._unexpired({field: key(value)}, now)
        return int(await self._retried(lambda: self.collection.count_documents(query)))

    async def find_newest(
        self, field: str, value: str, order: str, limit: int, now: float | None = None
    ) -> list[D]:
        if (field, order) not in self.ordered:
            raise ValueError(f"{self.name} has no index of {field} by {order}")
        query = self._unexpired({field: key(value)}, now)
        found = await self._retried(
            lambda: self.collection.find(query).sort(order, DESCENDING).limit(limit).to_list()
        )
        return [record for record in map(self._model, found) if record is not None]

    async def all(self) -> list[D]:
        return await self._list({})

    def _field(self, name: str) -> str:
        return "_id" if name == self.id_field else name

    async def page(self, query: PageQuery) -> list[D]:
        order = self._field(query.order)
        conditions: list[dict[str, Any]] = [
            {self._field(name): key(value)} for name, value in query.equal.items()
        ]
        if query.text and query.text_fields:
            pattern = {"$regex": re.escape(query.text), "$options": "i"}
            conditions.append({"$or": [{self._field(f): pattern} for f in query.text_fields]})
        if query.since is not None:
            conditions.append({order: {"$gte": query.since}})
        if query.until is not None:
            conditions.append({order: {"$lt": query.until}})
        beyond, direction = ("$gt", ASCENDING) if query.ascending else ("$lt", DESCENDING)
        if query.after is not None:
            value, last_id = cursor_value(query.after[0]), key(query.after[1])
            conditions.append(
                {"$or": [{order: {beyond: value}}, {order: value, "_id": {beyond: last_id}}]}
            )
        found_query = self._unexpired({"$and": conditions} if conditions else {}, query.now)
        found = await self._retried(
            lambda: self.collection.find(found_query)
            .sort([(order, direction), ("_id", direction)])
            .limit(query.limit)
            .to_list()
        )
        return [record for record in map(self._model, found) if record is not None]

    async def _list(self, query: dict[str, Any]) -> list[D]:
        found = await self._retried(
            lambda: self.collection.find(query).sort("_id", ASCENDING).to_list()
        )
        return [record for record in map(self._model, found) if record is not None]
