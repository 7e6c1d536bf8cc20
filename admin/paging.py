"""Page cursors: the store's (order value, id) of a page's last item, as an opaque string."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TypeVar

from admin.actors import Invalid
from store import Cursor

T = TypeVar("T")


def encode(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(cursor)).encode()).decode().rstrip("=")


def decode(text: str | None) -> Cursor | None:
    if not text:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise Invalid("the cursor is not one this API gave") from exc
    if (
        not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], str)
        or isinstance(value[0], bool) or not isinstance(value[0], (str, int, float))
    ):
        raise Invalid("the cursor is not one this API gave")
    return value[0], value[1]


def next_cursor(items: list[T], limit: int, cursor: Callable[[T], Cursor]) -> str | None:
    """The cursor of the page after `items`, None when they are the last."""
    return encode(cursor(items[-1])) if len(items) == limit else None
