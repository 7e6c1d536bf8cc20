"""The signed-in-before cookie: a signed list of [user, first sign-in, last sign-in] for the
people who signed in with this browser, each kept a year after their last sign-in (at most
`MAX_USERS`, the least recent dropped). Steps read it as `ctx.browser.seen`, for example to
mail "New sign-in from..." on a browser an account never used. Unlike the remembered-device
cookie (oidc/devices.py), nobody opts in: it lets nothing be skipped, it only tells."""

from __future__ import annotations

from itsdangerous import URLSafeSerializer

from oidc.cookies import CookieJar, set_cookie
from oidc.provider import Provider
from oidc.signed_cookies import Entry, signed_entries

SEEN = "gh_seen"
MAX_USERS = 10
KEEP = 365 * 86400
MAX_COOKIE = 3000



def _serializer(provider: Provider) -> URLSafeSerializer:
    return URLSafeSerializer(provider.device_key, salt="gatehouse.signed-in-before")


def _entries(provider: Provider) -> list[Entry]:
    return signed_entries(
        provider, SEEN, _serializer(provider), MAX_COOKIE, provider.clock() - KEEP
    )


def seen_here(provider: Provider) -> dict[str, float]:
    """The users who signed in with this browser before, and when they first did."""
    return {subject: first for subject, first, _ in _entries(provider)}


def note_sign_in(provider: Provider, response: CookieJar, subject: str) -> None:
    """Add `subject` (or renew it) in this browser's signed-in-before cookie."""
    now = provider.clock()
    entries = _entries(provider)
    first = next((e[1] for e in entries if e[0] == subject), now)
    kept = sorted((e for e in entries if e[0] != subject), key=lambda e: e[2])
    kept = kept[-(MAX_USERS - 1):]
    value = _serializer(provider).dumps([list(e) for e in [*kept, (subject, first, now)]])
    set_cookie(provider, response, SEEN, value, max_age=KEEP)
