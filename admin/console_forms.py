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


def field_errors(error: ValidationError, shown: set[str]) -> dict[str, str]:
    """Each refused field's first problem, by the name of the field that shows it; a field
    the form does not show (or the whole model) under `page`, named."""
    found: dict[str, str] = {}
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        if field in shown:
            found.setdefault(field, message)
        else:
            found.setdefault("page", f"{field}: {message}" if field else message)
    return found
