"""What a request's cookies prove about the browser, handed to the engine with each event.

Among them the remembered-device cookie: a signed list of [user, remembered at, until] that the
`known_device` condition reads, so a flow can skip a second factor on a browser its user chose
to trust. The flow pages write it when a run's `remember_device` step said yes."""

from __future__ import annotations

from dataclasses import replace

from itsdangerous import URLSafeSerializer
from quart import request

from engine import BrowserFacts
from oidc.browser_history import seen_here
from oidc.cookies import CookieJar, set_cookie
from oidc.provider import Provider, current_provider
from oidc.sessions import MAX_USER_AGENT, current_session
from oidc.signed_cookies import Entry, signed_entries
from store import RememberDevice

DEVICE = "gh_device"
MAX_USERS = 5  # a shared browser remembers a few people at most
MAX_COOKIE = 2000


def _serializer(provider: Provider) -> URLSafeSerializer:
    if len(provider.device_key) < 32:
        raise RuntimeError("the provider has no key for remembered-device cookies")
    return URLSafeSerializer(provider.device_key, salt="gatehouse.remembered-devices")


def _entries(provider: Provider) -> list[Entry]:
    """This browser's remembered users: [user, remembered at, until], until after now."""
    return signed_entries(provider, DEVICE, _serializer(provider), MAX_COOKIE, provider.clock())


MAX_LANGUAGES = 10


def browser_facts() -> BrowserFacts:
    """What this request's cookies prove about the browser, its address, User-Agent and
    languages."""
    provider = current_provider()
    return BrowserFacts(
        {subject: at for subject, at, _ in _entries(provider)},
        client_address=request.remote_addr,
        user_agent=(request.headers.get("User-Agent") or "")[:MAX_USER_AGENT] or None,
        languages=tuple(lang for lang, _ in request.accept_languages)[:MAX_LANGUAGES],
        seen=seen_here(provider),
    )


async def signed_in_browser_facts() -> BrowserFacts:
    """`browser_facts`, with the user of the browser's live session (one store read): what a
    submitted form needs to tell its owner's browser from a guesser's."""
    session = await current_session(current_provider())
    return replace(browser_facts(), signed_in=session.subject if session else None)


def remember_device(response: CookieJar, memory: RememberDevice) -> None:
    """Add (or renew) the user's entry in this browser's remembered-device cookie."""
    provider = current_provider()
    kept = [e for e in _entries(provider) if e[0] != memory.subject][-(MAX_USERS - 1):]
    entries = [*kept, (memory.subject, memory.at, memory.until)]
    value = _serializer(provider).dumps([list(e) for e in entries])
    lasting = max(e[2] for e in entries) - provider.clock()
    set_cookie(provider, response, DEVICE, value, max_age=max(int(lasting), 0))
