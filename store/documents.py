"""The small document interface each backend implements; every repository is built on it.

A backend keeps documents of one pydantic type per collection, keyed by an id field, with
optional unique lookup fields (compared case-insensitively), indexed fields, ordered indexes (a
field's documents by another field, highest first), a `version` for optimistic updates and an
`expires_at` (Unix seconds) after which a document is never returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

D = TypeVar("D", bound=BaseModel)
FIELD = re.compile(r"[a-z_]+(\.[a-z_]+)?")  # a field, or one level into a dict field


@dataclass(frozen=True)
class PageQuery:
    """A page of a collection for people who browse it (the admin API), highest `order` first
    (then highest id; lowest first when `ascending`), starting after `after`: the `(order, id)`
    of the previous page's last document (keyset paging: a page costs the same however deep it
    is)."""

    order: str
    limit: int
    equal: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None  # a case-insensitive substring of any of `text_fields`
    text_fields: tuple[str, ...] = ()
    since: float | None = None  # order >= since
    until: float | None = None  # order < until
    after: tuple[Any, str] | None = None
    now: float | None = None  # leave expired documents out
    ascending: bool = False

    def __post_init__(self) -> None:
        for name in (self.order, *self.equal, *self.text_fields):
            if not FIELD.fullmatch(name):
                raise ValueError(f"not a field name: {name!r}")


def cursor_value(value: object) -> str | int | float:
    """A cursor's order value, which came from outside: a plain value, never a query."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("a page cursor holds a string or a number")
    return value


class Documents(Protocol[D]):
    """One collection of documents of type `D`."""

    name: str
    model: type[D]
    id_field: str

    async def insert(self, doc: D) -> None:
        """Raises `DuplicateError` when the id or a unique field is taken."""

    async def upsert(self, doc: D) -> None:
        """Insert or replace by id."""

    async def insert_if_absent(self, doc: D) -> bool:
        """Insert unless the id exists; True when this call inserted it."""

    async def get(self, doc_id: str, now: float | None = None) -> D | None:
        """By id; with `now`, None once the document has expired."""

    async def find_one(self, field: str, value: str) -> D | None:
        """By a unique field, case-insensitively."""

    async def find_all(self, field: str, value: str) -> list[D]:
        """Documents whose (indexed) `field` equals `value`."""

    async def find_newest(
        self, field: str, value: str, order: str, limit: int, now: float | None = None
    ) -> list[D]:
        """Up to `limit` documents whose `field` equals `value`, highest `order` first, through
        the ordered index `(field, order)`; with `now`, expired ones are left out."""

    async def count(self, field: str, value: str, now: float) -> int:
        """How many unexpired documents have the (indexed) `field` equal to `value`, counted
        without reading them."""

    async def all(self) -> list[D]: ...

    async def page(self, query: PageQuery) -> list[D]:
        """Up to `query.limit` documents that match `query`, in its order."""

    async def replace(self, doc: D) -> None:
        """Replace by id; raises `DuplicateError` when a unique field is taken."""

    async def replace_versioned(self, doc: D) -> None:
        """Replace only if the stored version equals `doc.version`, then bump both (else
        `StaleVersionError`, with `doc` unchanged)."""

    async def delete(self, doc_id: str, version: int | None = None) -> bool:
        """Delete by id (and version, when given); True when this call deleted it."""

    async def delete_expired(self, doc_id: str, now: float) -> None:
        """Delete the document if it has expired."""

    async def claim(self, doc_id: str, now: float, client_id: str) -> D | None:
        """Move an unexpired document of `client_id` from version 0 to 1 atomically (across
        processes); the document when this call moved it, else None."""

    async def set_field(self, doc_id: str, field: str, value: Any) -> None:
        """Set one top-level field of a stored document in place."""

    async def purge_expired(self, now: float, batch: int) -> int:
        """Delete up to `batch` expired documents; how many were deleted."""
