"""The MongoDB store, selected by a `mongodb://` or `mongodb+srv://` store URL."""

from store.mongodb.store import MongoStore

__all__ = ["MongoStore"]
