"""Development on one machine: a page asked for at another name of it goes to the issuer's own.

A browser that signs in at `127.0.0.1:8000` while the issuer is `localhost:8000` keeps its cookies
on the wrong site, and the sign-in fails at the end. Only loopback names are redirected, and only
on the issuer's port: any other Host may be a proxy that rewrites it, which a redirect would loop.
The target is the configured issuer's origin, never anything the request names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from quart import Response, request

from federation import on_this_machine
from observe import QUIET_ROUTES

SAFE_METHODS = frozenset({"GET", "HEAD"})  # a redirected POST would lose or resend its body
DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 §3.3 and §3.4: what may stand unescaped in a path and a query.
PATH_SAFE = "/%:@!$&'()*+,;=-._~"
QUERY_SAFE = PATH_SAFE + "?"

Hook = Callable[[], Awaitable[Response | None]]


def _host_and_port(authority: str, scheme: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(f"//{authority}")
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname else None


class IssuerOrigin:
    """Where a request that names another loopback host of this machine goes instead."""

    def __init__(self, origin: str, home: tuple[str, int]) -> None:
        self.origin, self.home = origin, home
        self.authority = urlsplit(origin).netloc  # a Host that names the issuer exactly

    def redirect(
        self, method: str, path: str, host: str, scheme: str, raw_path: bytes, query: bytes
    ) -> str | None:
        """The issuer's URL for the same path and query, or None when the request stays."""
        if method not in SAFE_METHODS or path in QUIET_ROUTES or host == self.authority:
            return None  # probes and scrapes answer on any name
        named = _host_and_port(host, scheme)
        home = self.home
        if named is None or named == home or named[1] != home[1] or not on_this_machine(named[0]):
            return None
        if not raw_path.startswith(b"/"):
            return None
        location = self.origin + quote(raw_path.decode("latin-1"), safe=PATH_SAFE)
        if query:
            location += "?" + quote(query.decode("latin-1"), safe=QUERY_SAFE)
        return location


def issuer_origin(issuer: str) -> IssuerOrigin | None:
    """The redirects for `issuer`; None when it is not on this machine."""
    parts = urlsplit(issuer)
    home = _host_and_port(parts.netloc, parts.scheme)
    if home is None or not on_this_machine(home[0]):
        return None
    return IssuerOrigin(f"{parts.scheme}://{parts.netloc}", home)


def redirect_to_issuer(origin: IssuerOrigin) -> Hook:
    """A before-request hook sending GET and HEAD requests that name another loopback host on
    the issuer's port to the same path and query at the issuer (308)."""

    async def to_the_issuer() -> Response | None:
        location = origin.redirect(
            request.method, request.path, request.host, request.scheme,
            request.scope.get("raw_path") or request.path.encode(), request.query_string,
        )
        return None if location is None else Response("", status=308, headers={"Location": location})

    return to_the_issuer
