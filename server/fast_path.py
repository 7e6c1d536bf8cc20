"""The endpoints that programs call at machine rate, answered in front of Quart: the token
endpoint (POST), the provider metadata and the JWK set (GET).

A profile of these endpoints (docs/benchmarks.md, "Where the time goes") shows Quart's
per-request machinery (request and app contexts, routing, hooks, the response object) costing
more than the work itself. Here an ASGI app in front of Quart's answers them with the same
framework-free code Quart's views call (`token_answer`, the documents), and gives each answer
what Quart's hooks give it: the security headers, the request id and `X-Request-Id`, the access
log line and the request metrics. The body is read under the same limits: `max_request_bytes`
(over it, the token endpoint's `invalid_request`) and `request_timeout`.

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
Route = Callable[[Provider, Scope, Receive, Headers], Awaitable[Answer]]

HANDED_OVER = "gatehouse.handed_over"  # in the scope given to Quart: the error to answer
REQUEST_ID = REQUEST_ID_HEADER.lower()


class Disconnected(Exception):
    """The client left before its request's body was read: nothing is answered."""


class FastPath:
    """ASGI in front of Quart's own (`app.asgi_app`): see the module's docstring."""

    def __init__(
        self, app: Quart, inner: ASGIApp, max_body: int, body_timeout: float,
        origin: IssuerOrigin | None,
    ) -> None:
        self.app, self.inner = app, inner
        self.max_body, self.body_timeout, self.origin = max_body, body_timeout, origin
        self.routes: dict[tuple[str, str], Route] = {
            ("POST", "/token"): self.token,
            ("GET", "/.well-known/openid-configuration"): self.metadata,
            ("GET", "/jwks"): self.jwks,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get((scope.get("method", ""), scope.get("path", "")))
        provider: Provider | None = self.app.extensions.get(EXTENSION_KEY)
        if route is None or provider is None or scope["type"] != "http":
            return await self.inner(scope, receive, send)
        started = time.perf_counter()
        headers = request_headers(scope)
        if "host" not in headers or self._redirected(scope, headers["host"]):
            return await self.inner(scope, receive, send)
        rid = new_request_id(headers.get(REQUEST_ID))
        reset = request_id.set(rid)
        client = scope.get("client")
        reset_address = request_address.set(client[0] if client else None)
        try:
            try:
                answer = await route(provider, scope, receive, headers)
            except Disconnected:
                return
            except Exception as error:  # answered by Quart, as Quart answers any request's
                return await self.inner({**scope, HANDED_OVER: error}, body_read(), send)
            await send_answer(send, answer, rid, provider.secure_cookies)
            seconds = time.perf_counter() - started
            count_request(scope["method"], scope["path"], answer.status, seconds)
            log_access(scope["method"], scope["path"], answer.status, seconds * 1000)
        finally:
            request_id.reset(reset)
            request_address.reset(reset_address)

    def _redirected(self, scope: Scope, host: str) -> bool:
        """Whether Quart's `redirect_to_issuer` would send this request to the issuer's name."""
        return self.origin is not None and self.origin.redirect(
            scope["method"], scope["path"], host, scope.get("scheme", "http"),
            scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""),
        ) is not None

    async def token(
        self, provider: Provider, scope: Scope, receive: Receive, headers: Headers
    ) -> Answer:
        body = await self.read_body(receive, headers)
        back_channel = BackChannelRequest(
            scope["path"], headers.get("authorization"), headers.get("content-type"), body
        )
        return (await token_answer(provider, back_channel)).answer()

    async def metadata(
        self, provider: Provider, scope: Scope, receive: Receive, headers: Headers
    ) -> Answer:
        return metadata_document(provider).answer(headers.get("if-none-match"))

    async def jwks(
        self, provider: Provider, scope: Scope, receive: Receive, headers: Headers
    ) -> Answer:
        return jwks_document(provider).answer(headers.get("if-none-match"))

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


def request_headers(scope: Scope) -> Headers:
    """The request's headers by lower-case name, each name's first value (as Werkzeug's
    `Headers.get` reads them), decoded as Latin-1."""
    headers: Headers = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def send_answer(send: Send, answer: Answer, rid: str, hsts: bool) -> None:
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
