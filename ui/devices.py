"""The remembered-device cookie: a signed list of (user, until when) that the `known_device`
condition reads, so a flow can skip a second factor on a browser the user chose to trust. (The
step that sets it arrives with the second-factor steps.)"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from quart import request

from oidc.cookies import cookie_name
from oidc.provider import Provider, current_provider
from steps.base import BrowserFacts

DEVICE = "gh_device"


def _serializer(provider: Provider) -> URLSafeSerializer:
    if len(provider.device_key) < 32:
        raise RuntimeError("the provider has no key for remembered-device cookies")
    return URLSafeSerializer(provider.device_key, salt="gatehouse.remembered-devices")


def _entries(provider: Provider) -> list[tuple[str, float]]:
    value = request.cookies.get(cookie_name(provider, DEVICE), "")
    if not value or len(value) > 2000:
        return []
    try:
        loaded = _serializer(provider).loads(value)
    except BadSignature:
        return []
    now = provider.clock()
    return [
        (str(subject), float(until))
        for subject, until in (loaded if isinstance(loaded, list) else [])
        if isinstance(until, int | float) and until > now
    ]


def browser_facts() -> BrowserFacts:
    """What this request's cookies prove about the browser."""
    provider = current_provider()
    return BrowserFacts(frozenset(subject for subject, _ in _entries(provider)))

