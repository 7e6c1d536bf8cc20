"""Errors every store raises in the same situations."""

from __future__ import annotations


class DuplicateError(Exception):
    """A unique key (client id, username, email...) is already taken."""


class StaleVersionError(Exception):
    """An optimistic update lost: the document changed since it was read."""


class StoreUnavailableError(Exception):
    """The store cannot be reached now (network, failover): try again shortly."""
