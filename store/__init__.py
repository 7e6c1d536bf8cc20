"""Persistence behind typed repository protocols.

`open_store(url)` returns a `Store` for a URL: `sqlite:///path/to/file.db` (the embedded default)
or `sqlite://:memory:`.
"""

from __future__ import annotations

from store.errors import DuplicateError, StaleVersionError, StoreUnavailableError
from store.repositories import Store
from store.url import open_store

__all__ = ["DuplicateError", "StaleVersionError", "Store", "StoreUnavailableError", "open_store"]
