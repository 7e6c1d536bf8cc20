"""Cookies that hold a signed list of [user, time, time] entries: the remembered-device cookie
(oidc/devices.py) and the signed-in-before cookie (oidc/browser_history.py)."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from quart import request

from oidc.cookies import cookie_name
from oidc.provider import Provider

Entry = tuple[str, float, float]


def signed_entries(
    provider: Provider, name: str, serializer: URLSafeSerializer, limit: int, after: float
) -> list[Entry]:
    """The entries of cookie `name` whose last time is after `after` (none when the cookie is
    absent, longer than `limit`, not signed by us, or not such a list)."""
    value = request.cookies.get(cookie_name(provider, name), "")
    if not value or len(value) > limit:
        return []
    try:
        loaded = serializer.loads(value)
    except BadSignature:
        return []
    return [
        (item[0], float(item[1]), float(item[2]))
        for item in (loaded if isinstance(loaded, list) else [])
        if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
        and all(isinstance(n, int | float) for n in item[1:]) and item[2] > after
    ]
