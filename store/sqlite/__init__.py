"""The embedded store: one SQLite file, no server to run."""

from __future__ import annotations

from store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
