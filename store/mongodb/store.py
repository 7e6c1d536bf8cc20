"""The MongoDB store (production, scale-out): PyMongo's native async API.

PyMongo's `AsyncMongoClient` is the successor of motor (deprecated in May 2025, end of life in
May 2026). Writes use write concern `majority` unless the URL sets `w`; the read concern is the
URL's `readConcernLevel` (the server's default otherwise). The driver retries a read or a write
once after a failover (`retryReads`/`retryWrites`, on by default).
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.uri_parser import parse_uri

from store.document_store import DocumentStore
from store.documents import D, Documents
from store.mongodb.collection import MongoCollection, driver_errors

DEFAULT_DATABASE = "gatehouse"
SERVER_SELECTION_MS = 5000  # a sign-in page waits this long for a primary before a 503


class MongoStore(DocumentStore):
    def __init__(self, client: AsyncMongoClient[dict[str, Any]]) -> None:
        self.client = client
        self.database = client.get_default_database(DEFAULT_DATABASE)
        self.mongo_collections: list[MongoCollection[Any]] = []
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
        collection = MongoCollection(
            self.database.get_collection(name), model, id_field, unique, indexed, ordered
        )
        self.mongo_collections.append(collection)
        return collection

    @classmethod
    async def open(cls, url: str) -> MongoStore:
        """Connect, check the server answers, and create the indexes (idempotently)."""
        options = {key.lower() for key in parse_uri(url)["options"]}
        defaults: dict[str, Any] = {"appname": "gatehouse", "tz_aware": True}
        if "w" not in options:
            defaults["w"] = "majority"
        if "serverselectiontimeoutms" not in options:
            defaults["serverSelectionTimeoutMS"] = SERVER_SELECTION_MS
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, **defaults)
        store = cls(client)
        try:
            with driver_errors("ping"):
                await client.admin.command("ping")
            for collection in store.mongo_collections:
                await collection.create_indexes()
        except BaseException:
            await client.close()
            raise
        return store

    async def ping(self) -> None:
        with driver_errors("ping"):
            await self.client.admin.command("ping")

    async def close(self) -> None:
        await self.client.close()
