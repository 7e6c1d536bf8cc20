"""What the console's forms share: their fields read as lists, and a refusal of the admin API's
models shown beside the field it is about."""

from __future__ import annotations

import re

from pydantic import ValidationError


def words(text: str) -> list[str]:
    """Values typed on one line, separated by spaces or commas (groups, scopes)."""
    return [word for word in re.split(r"[\s,]+", text) if word]


def lines(text: str) -> list[str]:
    """Values typed one per line (redirect URIs)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def field_errors(error: ValidationError) -> dict[str, str]:
    """Each refused field's first problem, by the field's name (`page` for the whole form)."""
    found: dict[str, str] = {}
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "page"
        found.setdefault(field, problem["msg"].removeprefix("Value error, "))
    return found
