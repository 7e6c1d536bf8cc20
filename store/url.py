"""Choosing a store implementation from its URL."""

from __future__ import annotations

from store.repositories import Store


async def open_store(url: str) -> Store:
    """Open (and prepare) the store that `url` names."""
    if url.startswith("sqlite://"):
        from store.sqlite import SqliteStore

        return await SqliteStore.open(url.removeprefix("sqlite://").removeprefix("/") or ":memory:")
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from store.mongodb import MongoStore

        return await MongoStore.open(url)
    raise ValueError(
        f"unsupported store URL {url!r}: use sqlite:///path/to/file.db or mongodb://host/database"
    )
