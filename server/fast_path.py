"""The endpoints that programs call at machine rate, answered in front of Quart: the token
endpoint (POST), the provider metadata and the JWK set (GET).

A profile of these endpoints (docs/benchmarks.md, "Where the time goes") shows Quart's
per-request machinery (request and app contexts, routing, hooks, the response object) costing
more than the work itself. Here an ASGI app in front of Quart's answers them with the same
framework-free code Quart's views call (`token_answer`, the documents), and gives each answer
what Quart's hooks give it: the security headers, the request id and `X-Request-Id`, the access
log line and the request metrics (`FastPath.serve`). The body is read under the same limits:
`max_request_bytes` (over it, the token endpoint's `invalid_request`) and `request_timeout`.
A request that arrives whole is answered the same way by the connection itself, without
uvicorn's ASGI cycle (server/direct_answers.py); this ASGI app answers the rest.

Everything else goes to Quart: other paths and methods (HEAD among them), a request before
start-up, one without a Host header, and a GET that `IssuerOrigin` sends to the issuer's name.
An error other than an OAuth error (the store unavailable, a body that times out, a bug) is
handed to Quart with the request (`HANDED_OVER`), so that its answer, log line and metrics are
exactly those of any other request that fails.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, cast

from quart import Quart, request
from werkzeug.exceptions import RequestTimeout

from observe import (
    REQUEST_ID_HEADER,
    count_request,
    log_access,
    new_request_id,
    request_address,
    request_id,
)
from oidc import (
    EXTENSION_KEY,
    Answer,
    BackChannelRequest,
    Provider,
    jwks_document,
    metadata_document,
    token_answer,
)
from server.issuer_origin import IssuerOrigin
from ui import security_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = dict[str, str]
Deliver = Callable[[Answer, str], Awaitable[None]]  # an answer and its request id, sent

HANDED_OVER = "gatehouse.handed_over"  # in the scope given to Quart: the error to answer
REQUEST_ID = REQUEST_ID_HEADER.lower()


class Disconnected(Exception):
    """The client left before its request's body was read: nothing is answered."""


@dataclass(frozen=True)
class FastRequest:
    """What the fast path reads of a request: its method, path, headers (by lower-case name,
    each name's first value, as Werkzeug's `Headers.get` reads them), the client's address, and
    the body (None when it was over `max_request_bytes` and not read)."""

    method: str
    path: str
    headers: Headers
    client: str | None
    body: bytes | None


@dataclass(frozen=True)
class Route:
    """How the fast path answers one method and path. `answer` may wait on I/O (the store) and
    reads the body; `answer_now`, when there is one, needs neither (the documents), so that a
    connection can answer at once."""

    answer: Callable[[Provider, FastRequest], Awaitable[Answer]]
    answer_now: Callable[[Provider, Headers], Answer] | None = None

    @classmethod
    def at_once(cls, answer_now: Callable[[Provider, Headers], Answer]) -> Route:
        async def answer(provider: Provider, request: FastRequest) -> Answer:
            return answer_now(provider, request.headers)

        return cls(answer, answer_now)


async def token(provider: Provider, request: FastRequest) -> Answer:
    back_channel = BackChannelRequest(request.path, request.headers.get("authorization"),
                                      request.headers.get("content-type"), request.body,
                                      request.headers.get("dpop"))
    return (await token_answer(provider, back_channel)).answer()


def metadata(provider: Provider, headers: Headers) -> Answer:
    return metadata_document(provider).answer(headers.get("if-none-match"))


def jwks(provider: Provider, headers: Headers) -> Answer:
    return jwks_document(provider).answer(headers.get("if-none-match"))


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/token"): Route(token),
    ("GET", "/.well-known/openid-configuration"): Route.at_once(metadata),
    ("GET", "/jwks"): Route.at_once(jwks),
}


class FastPath:
    """ASGI in front of Quart's own (`app.asgi_app`), and what a connection asks of it when it
    answers a request itself (server/direct_answers.py): see the module's docstring."""

    def __init__(
        self, app: Quart, inner: ASGIApp, max_body: int, body_timeout: float,
        origin: IssuerOrigin | None,
    ) -> None:
        self.app, self.inner = app, inner
        self.extensions: dict[str, Any] = app.extensions
        self.max_body, self.body_timeout, self.origin = max_body, body_timeout, origin

    @property
    def provider(self) -> Provider | None:
        """The provider, once the app has started serving (and until it stops)."""
        return self.extensions.get(EXTENSION_KEY)

    @staticmethod
    def has_route(method: str, path: str) -> bool:
        return (method, path) in ROUTES

    def route(self, method: str, path: str, headers: Headers, scope: Scope) -> Route | None:
        """The route that answers this request here, or None when Quart answers it (see the
        module's docstring). `scope` gives the scheme, raw path and query, for `IssuerOrigin`."""
        route = ROUTES.get((method, path))
        if route is None or self.provider is None:
            return None
        host = headers.get("host")
        if host is None or self.origin is not None and self.origin.redirect(
            method, path, host, scope.get("scheme", "http"),
            scope.get("raw_path") or path.encode(), scope.get("query_string", b""),
        ) is not None:
            return None
        return route

    async def serve(self, route: Route, request: FastRequest, deliver: Deliver) -> Exception | None:
        """Answer `request` through `deliver`, then its log line and metrics. An error other than
        an OAuth error is returned unanswered, for Quart to answer."""
        started = time.perf_counter()
        rid = new_request_id(request.headers.get(REQUEST_ID))
        reset_id, reset_address = request_id.set(rid), request_address.set(request.client)
        try:
            try:
                answer = await route.answer(self.serving(), request)
            except Exception as error:  # answered by Quart, as Quart answers any request's
                return error
            await deliver(answer, rid)
            self.record(request.method, request.path, answer.status, started)
            return None
        finally:
            request_id.reset(reset_id)
            request_address.reset(reset_address)

    def serve_now(
        self, answer_now: Callable[[Provider, Headers], Answer], method: str, path: str,
        headers: Headers, deliver: Callable[[Answer, str], None],
    ) -> Exception | None:
        """`serve` for a route that answers at once, here and now."""
        started = time.perf_counter()
        rid = new_request_id(headers.get(REQUEST_ID))
        reset_id = request_id.set(rid)
        try:
            try:
                answer = answer_now(self.serving(), headers)
            except Exception as error:
                return error
            deliver(answer, rid)
            self.record(method, path, answer.status, started)
            return None
        finally:
            request_id.reset(reset_id)

    def serving(self) -> Provider:
        provider = self.provider
        if provider is None:
            raise RuntimeError("the provider stopped")
        return provider

    @staticmethod
    def record(method: str, path: str, status: int, started: float) -> None:
        """The answer's metrics and access line."""
        seconds = time.perf_counter() - started
        count_request(method, path, status, seconds)
        log_access(method, path, status, seconds * 1000)

    @property
    def hsts(self) -> bool:
        provider = self.provider
        return provider is not None and provider.secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or HANDED_OVER in scope:
            return await self.inner(scope, receive, send)
        method, path = scope.get("method", ""), scope.get("path", "")
        if (method, path) not in ROUTES:
            return await self.inner(scope, receive, send)
        headers = request_headers(scope)
        route = self.route(method, path, headers, scope)
        if route is None:
            return await self.inner(scope, receive, send)
        client = scope.get("client")
        try:
            body = b"" if route.answer_now else await self.read_body(receive, headers)
        except Disconnected:
            return
        except RequestTimeout as timeout:
            return await self.inner({**scope, HANDED_OVER: timeout}, body_read(), send)
        failed = await self.serve(route, FastRequest(method, path, headers,
                                                     client[0] if client else None, body),
                                  functools.partial(send_answer, send, hsts=self.hsts))
        if failed is not None:
            await self.inner({**scope, HANDED_OVER: failed}, body_read(), send)

    async def read_body(self, receive: Receive, headers: Headers) -> bytes | None:
        """The body, or None when it is over `max_body` (then not read, as Quart has it)."""
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return None
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise Disconnected
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError as exc:
            raise RequestTimeout() from exc


def fast_path_of(app: object) -> FastPath | None:
    """The fast path of the ASGI app a server runs (a Quart app, perhaps inside middleware that
    keeps it as `app`, as uvicorn's proxy headers middleware does)."""
    for _ in range(4):
        asgi = getattr(app, "asgi_app", None)
        if isinstance(asgi, FastPath):
            return asgi
        app = getattr(app, "app", None)
    return None


def request_headers(scope: Scope) -> Headers:
    """The request's headers by lower-case name, each name's first value (as Werkzeug's
    `Headers.get` reads them), decoded as Latin-1."""
    headers: Headers = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    if len(headers) < len(scope["headers"]):
        spoil_repeated_proof(headers, [name for name, _ in scope["headers"]])
    return headers


def spoil_repeated_proof(headers: Headers, names: list[bytes]) -> None:
    """RFC 9449 §4.3: a request with more than one DPoP header is refused, so such a header
    reads as empty (an invalid proof) rather than as its first value."""
    if sum(name.lower() == b"dpop" for name in names) > 1:
        headers["dpop"] = ""


async def send_answer(send: Send, answer: Answer, rid: str, *, hsts: bool) -> None:
    """`answer` with the headers Quart's hooks would add: the security headers and the id."""
    raw = [*encoded_headers(tuple(answer.headers.items()), hsts),
           (b"x-request-id", rid.encode("latin-1"))]
    if answer.status != 304:  # RFC 9110 §8.6: a 304's length would be the document's
        raw.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": raw})
    await send({"type": "http.response.body", "body": answer.body})


@functools.lru_cache(maxsize=64)
def encoded_headers(
    headers: tuple[tuple[str, str], ...], hsts: bool
) -> tuple[tuple[bytes, bytes], ...]:
    """An answer's headers and the security headers it lacks, as ASGI sends them. The answers
    here carry a few fixed sets of headers (an error's WWW-Authenticate among them), so they are
    encoded once each."""
    present = {name.lower() for name, _ in headers}
    return tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in
                 [*headers, *security_headers(present, hsts, static=False)])


def body_read() -> Receive:
    """The `receive` of a request whose body the fast path has read: an empty body, then
    nothing (Quart keeps listening until it has answered)."""
    told = False

    async def receive() -> Message:
        nonlocal told
        if not told:
            told = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.get_running_loop().create_future()  # never done: cancelled by Quart
        raise AssertionError("unreachable")

    return receive


async def raise_handed_over() -> None:
    """Quart's before-request hook that raises the error the fast path handed over, so that
    Quart's error handlers and after-request hooks answer it."""
    error = cast(Scope, request.scope).get(HANDED_OVER)
    if isinstance(error, Exception):
        raise error


def install_fast_path(
    app: Quart, max_body: int, body_timeout: float, origin: IssuerOrigin | None
) -> None:
    """Put the fast path in front of `app` (to be called after its other before-request hooks
    are registered, so that those run before a handed-over error is raised)."""
    app.before_request(raise_handed_over)
    fast = FastPath(app, cast(ASGIApp, app.asgi_app), max_body, body_timeout, origin)
    app.asgi_app = cast(Any, fast)  # type: ignore[method-assign]
