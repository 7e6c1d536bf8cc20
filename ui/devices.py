"""The remembered-device cookie: a signed list of (user, until when) that the `known_device`
condition reads, so a flow can skip a second factor on a browser the user chose to trust."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from quart import Response, request

from oidc.cookies import cookie_name, set_cookie
from oidc.provider import Provider, current_provider
from steps.base import BrowserFacts

DEVICE = "gh_device"
MAX_REMEMBERED = 5


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


def remember_device(response: Response, subject: str, seconds: int) -> None:
    """Trust this browser for `subject` for `seconds` (keeps the others it remembers)."""
    provider = current_provider()
    kept = [(s, u) for s, u in _entries(provider) if s != subject][-(MAX_REMEMBERED - 1) :]
    entries = [*kept, (subject, provider.clock() + seconds)]
    value = _serializer(provider).dumps([[s, u] for s, u in entries])
    longest = max(int(u - provider.clock()) for _, u in entries)
    set_cookie(provider, response, DEVICE, value, max_age=longest)
