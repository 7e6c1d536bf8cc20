"""A small relying party served at /demo, to try sign-in end to end (authorization code + PKCE)."""

from __future__ import annotations

from demo.relying_party import demo_blueprint

__all__ = [
    "demo_blueprint",
]
