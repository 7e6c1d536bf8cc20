"""Looking for private keys kept in clear: in a store's raw rows or documents, or in a file."""

from __future__ import annotations

import json
from typing import Any

from store import Store
from store.mongodb import MongoStore
from store.sqlite import SqliteStore


def clear_private_keys(value: Any) -> list[Any]:
    """Every private key that `value` holds in clear, at any depth, JSON inside strings included:
    a JWK with its private member `d` (RFC 7518 §6.2.2.1, §6.3.2.1), or a PEM private key."""
    if isinstance(value, dict):
        found: list[Any] = [value] if "d" in value else []
        return found + [key for item in value.values() for key in clear_private_keys(item)]
    if isinstance(value, list):
        return [key for item in value for key in clear_private_keys(item)]
    if isinstance(value, str):
        if "PRIVATE KEY" in value:
            return [value]
        if value.lstrip().startswith(("{", "[")):
            try:
                return clear_private_keys(json.loads(value))
            except ValueError:
                return []
    return []


async def raw_documents(store: Store, collection: str) -> list[dict[str, Any]]:
    """The documents of `collection` as the backend holds them (an SQLite row's JSON, a MongoDB
    document), past the repositories and their models."""
    if isinstance(store, SqliteStore):
        rows = await store.db.execute_fetchall(f"SELECT data FROM {collection}")
        return [json.loads(row[0]) for row in rows]
    assert isinstance(store, MongoStore)
    return [doc async for doc in store.database[collection].find({})]
