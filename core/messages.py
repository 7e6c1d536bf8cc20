"""`N_` marks a user-facing message id where it is written (in steps, in error pages), so that
extraction finds it; the text is translated when the page is rendered, in the page's locale."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    return message
