"""Choosing a store implementation from its URL."""

from __future__ import annotations

from store.repositories import Store


def sqlite_path(url: str) -> str:
    """The file of a `sqlite://` URL (`sqlite:///gatehouse.db` → `gatehouse.db`), `:memory:` for
    `sqlite://` alone."""
    return url.removeprefix("sqlite://").removeprefix("/") or ":memory:"


def is_process_local(url: str) -> bool:
    """True for a store that only one process can see (an in-memory SQLite database)."""
    return url.startswith("sqlite://") and sqlite_path(url) == ":memory:"


async def open_store(url: str) -> Store:
    """Open (and prepare) the store that `url` names."""
    if url.startswith("sqlite://"):
        from store.sqlite import SqliteStore

        return await SqliteStore.open(sqlite_path(url))
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from store.mongodb import MongoStore

        return await MongoStore.open(url)
    raise ValueError(
        f"unsupported store URL {url!r}: use sqlite:///path/to/file.db or mongodb://host/database"
    )
