"""A small relying party served at /demo, to try sign-in end to end (authorization code + PKCE).

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from demo.relying_party import demo_blueprint

__all__ = [
    "demo_blueprint",
]
