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


def redirect_to_issuer(issuer: str) -> Hook | None:
    """A before-request hook sending GET and HEAD requests that name another loopback host on
    the issuer's port to the same path and query at the issuer (308); None when the issuer is
    not on this machine."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    home = _host_and_port(parts.netloc, parts.scheme)
    if home is None or not on_this_machine(home[0]):
        return None

    async def to_the_issuer() -> Response | None:
        if request.method not in SAFE_METHODS or request.path in QUIET_ROUTES:
            return None  # probes and scrapes answer on any name
        named = _host_and_port(request.host, request.scheme)
        if named is None or named == home or named[1] != home[1] or not on_this_machine(named[0]):
            return None
        path = request.scope.get("raw_path") or request.path.encode()
        if not path.startswith(b"/"):
            return None
        location = origin + quote(path.decode("latin-1"), safe=PATH_SAFE)
        if request.query_string:
            location += "?" + quote(request.query_string.decode("latin-1"), safe=QUERY_SAFE)
        return Response("", status=308, headers={"Location": location})

    return to_the_issuer
