"""The connection answers the fast path's requests itself, without an ASGI cycle.

A profile of the JWK set and the token endpoint (docs/benchmarks.md, "Where the time goes")
shows uvicorn's per-request ASGI machinery (a cycle object, a task, the receive and send
messages, each header checked again on the way out) costing as much as the answer. A request
that the fast path would answer (`FastPath.route`), that arrives whole in one read, on an
HTTP/1.1 keep-alive connection with nothing else in progress, is answered here: `FastPath.serve`
makes the answer (with its request id, log line and metrics, as for any request it answers),
and it is written to the connection as uvicorn would write it (its `date` and `server` headers
first). The documents are answered at once; a token request in a task, during which the
connection queues what follows as uvicorn queues pipelined requests.

Everything else takes uvicorn's own way, unchanged: a request whose body is still coming (it
goes on as a cycle, with the bytes read so far), one uvicorn would refuse 503, an upgrade, an
HTTP/1.0 request or one that asks to close. An error the fast path hands over goes to the app in
a cycle of its own, as the ASGI fast path hands it over.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, cast

import httptools
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

from oidc import Answer
from server.fast_path import (
    HANDED_OVER,
    Deliver,
    FastPath,
    FastRequest,
    Headers,
    Route,
    Scope,
    encoded_headers,
    fast_path_of,
    spoil_repeated_proof,
)
from server.http_protocol import BoundedHttpToolsProtocol

T = TypeVar("T")


class NoEvent:
    """What uvicorn's protocol sets on a cycle when data comes or the connection goes: nothing
    waits on it for a request answered here."""

    def set(self) -> None:
        pass


@dataclass(slots=True)
class DirectRequest:
    """A request being answered on the connection. While it is uvicorn's `cycle`, uvicorn queues
    any request that follows it."""

    route: Route
    scope: Scope
    headers: Headers
    client: str | None
    body: list[bytes] = field(default_factory=list)
    response_complete: bool = False
    disconnected: bool = False
    keep_alive: bool = True  # uvicorn's shutdown sets it False
    message_event: ClassVar[NoEvent] = NoEvent()


class FastPathProtocol(BoundedHttpToolsProtocol):
    """uvicorn's httptools protocol with the head bounds, answering the fast path's requests
    itself: see the module's docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast = fast_path_of(self.app)
        # Behind trusted proxies, the client and scheme of a request answered here are worked
        # out by uvicorn's own middleware, as it would for the app (`Forwarded`).
        self.forwarded = (
            Forwarded(self.config.forwarded_allow_ips)
            if isinstance(self.app, ProxyHeadersMiddleware) else None
        )
        self.direct: DirectRequest | None = None  # read so far, not yet answered

    # Reading the request
    def begin_request(self) -> None:
        direct = self._direct_request()
        if direct is None:
            super().begin_request()
        else:
            self.direct = direct

    def on_body(self, body: bytes) -> None:
        direct = self.direct
        if direct is None:
            return super().on_body(body)
        direct.body.append(body)

    def on_message_complete(self) -> None:
        direct = self.direct
        if direct is None:
            return super().on_message_complete()
        self.end_of_request()
        self.direct = None
        self._answer_direct(direct)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.direct is not None:  # its body is still coming: uvicorn's cycle reads the rest
            direct, self.direct = self.direct, None
            self.scope = cast(Any, direct.scope)
            super().begin_request()
            if self.cycle is not None and direct.body:
                self.cycle.body = bytearray(b"".join(direct.body))
                self.cycle.message_event.set()

    def _direct_request(self) -> DirectRequest | None:
        """The request whose head was just read, if it is one to answer here."""
        fast, parser = self.fast, self.parser
        if fast is None or self.pipeline or self._answering() or parser.should_upgrade():
            return None
        if parser.get_http_version() != "1.1" or not parser.should_keep_alive():
            return None
        if self.limit_concurrency is not None and (
            len(self.connections) >= self.limit_concurrency
            or len(self.tasks) >= self.limit_concurrency
        ):
            return None
        try:
            url = httptools.parse_url(self.url)
        except httptools.HttpParserInvalidURLError:
            return None  # uvicorn's way refuses it
        method, raw_path = parser.get_method().decode("ascii"), url.path
        if b"%" in raw_path or self.root_path:
            return None
        path = raw_path.decode("ascii")
        if not fast.has_route(method, path):
            return None
        scope = cast(Scope, self.scope)
        scope.update(method=method, path=path, raw_path=raw_path, query_string=url.query or b"")
        seen = self.forwarded.scope(scope) if self.forwarded is not None else scope
        headers: Headers = {}
        for name, value in self.headers:
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        if len(headers) < len(self.headers):
            spoil_repeated_proof(headers, [name for name, _ in self.headers])
        route = fast.route(method, path, headers, seen)
        if route is None:
            return None
        client = seen.get("client")
        return DirectRequest(route, scope, headers, client[0] if client else None)

    # Answering it
    def _answer_direct(self, direct: DirectRequest) -> None:
        fast = cast(FastPath, self.fast)
        hsts, scope, answer_now = fast.hsts, direct.scope, direct.route.answer_now
        answering: Coroutine[Any, Any, None]
        if answer_now is not None:
            error = fast.serve_now(answer_now, scope["method"], scope["path"], direct.headers,
                                   functools.partial(self._write, direct, hsts=hsts))
            if error is None:
                self.on_response_complete()
                return
            answering = self._hand_over(direct, error)
        else:
            body = b"".join(direct.body)
            request = FastRequest(scope["method"], scope["path"], direct.headers, direct.client,
                                  None if len(body) > fast.max_body else body)
            deliver = functools.partial(self._deliver, direct, hsts=hsts)
            answering = self._answer_later(fast, direct, request, deliver)
        self.cycle = cast(Any, direct)  # uvicorn queues what follows until it is answered
        task = self.loop.create_task(answering)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _answer_later(
        self, fast: FastPath, direct: DirectRequest, request: FastRequest, deliver: Deliver,
    ) -> None:
        error = await fast.serve(direct.route, request, deliver)
        if error is None:
            self.on_response_complete()
        else:
            await self._hand_over(direct, error)

    async def _deliver(self, direct: DirectRequest, answer: Answer, rid: str, *, hsts: bool) -> None:
        self._write(direct, answer, rid, hsts=hsts)

    def _write(self, direct: DirectRequest, answer: Answer, rid: str, *, hsts: bool) -> None:
        direct.response_complete = True
        if direct.disconnected or self.transport.is_closing():
            return
        self.transport.write(response_bytes(
            answer, rid, hsts, self.server_state.default_headers, close=not direct.keep_alive))
        if not direct.keep_alive:
            self.transport.close()

    async def _hand_over(self, direct: DirectRequest, error: Exception) -> None:
        """The app answers `error` for this request, in a cycle as uvicorn would run it."""
        cycle = RequestResponseCycle(
            scope=cast(Any, {**direct.scope, HANDED_OVER: error}), transport=self.transport,
            flow=self.flow, logger=self.logger, access_logger=self.access_logger,
            access_log=self.access_log, default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(), expect_100_continue=False,
            keep_alive=direct.keep_alive, on_response=self.on_response_complete,
        )
        cycle.more_body = False  # the body was read: the app gets an empty one
        if self.cycle is cast(Any, direct):
            self.cycle = cycle
        await cycle.run_asgi(self.app)


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never waits to its end, here, and give its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("an answer made at once waited on something")


class Forwarded:
    """uvicorn's proxy headers middleware, run over a copy of a scope to see what it passes on:
    the client and scheme that a trusted proxy names."""

    def __init__(self, trusted_hosts: list[str] | str) -> None:
        self.seen: Scope = {}
        self.middleware = ProxyHeadersMiddleware(cast(Any, self._keep), trusted_hosts)

    async def _keep(self, scope: Scope, receive: Any, send: Any) -> None:
        self.seen = scope

    def scope(self, scope: Scope) -> Scope:
        run_now(self.middleware(cast(Any, dict(scope)), cast(Any, None), cast(Any, None)))
        return self.seen


def response_bytes(
    answer: Answer, rid: str, hsts: bool, default_headers: list[tuple[bytes, bytes]], close: bool,
) -> bytes:
    """`answer` as HTTP/1.1 bytes, with what uvicorn and the ASGI fast path would add to it."""
    parts = [STATUS_LINE[answer.status], default_block(default_headers),
             header_block(tuple(answer.headers.items()), hsts),
             b"x-request-id: ", rid.encode("latin-1"), b"\r\n"]
    if answer.status != 304:  # RFC 9110 §8.6: a 304's length would be the document's
        parts += [b"content-length: ", str(len(answer.body)).encode(), b"\r\n"]
    if close:
        parts.append(b"connection: close\r\n")
    parts += [b"\r\n", answer.body]
    return b"".join(parts)


_defaults: tuple[object, bytes] = (None, b"")


def default_block(headers: list[tuple[bytes, bytes]]) -> bytes:
    """uvicorn's headers for every answer (`date` and `server`), encoded once per list: uvicorn
    makes a new one each second."""
    global _defaults
    if _defaults[0] is not headers:
        _defaults = (headers, encoded(headers))
    return _defaults[1]


@functools.lru_cache(maxsize=64)
def header_block(headers: tuple[tuple[str, str], ...], hsts: bool) -> bytes:
    """An answer's headers with the security headers it lacks, as bytes."""
    return encoded(encoded_headers(headers, hsts))


def encoded(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)
