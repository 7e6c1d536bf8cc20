"""uvicorn's httptools protocol with bounds on each request's head (request line and headers):
its size, and the time a client takes to send it.

httptools buffers a head of any size and uvicorn waits for one without end: without bounds, one
client could make a process hold gigabytes of headers, or hold connections (each counted against
`max_concurrency`) by never finishing a head. A head over `max_header_bytes` is answered 431
(RFC 6585 §5); one not complete `header_timeout` seconds after the connection was made, or after
its first byte on a keep-alive connection, is answered 408 (RFC 9110 §15.5.9); either way the
connection is closed. A new connection that sent nothing is closed without an answer; an idle
keep-alive connection is left to `keep_alive_timeout`.
"""

from __future__ import annotations

import os
from asyncio import AbstractEventLoop, TimerHandle, Transport
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from observe import count_head_timeout
from server.settings import Settings

# Worker processes are started afresh, so `serve` hands the settings down in the environment.
LIMIT_ENV = "GATEHOUSE_MAX_HEADER_BYTES"
TIMEOUT_ENV = "GATEHOUSE_HEADER_TIMEOUT"
DEFAULT_LIMIT = 32 * 1024
DEFAULT_TIMEOUT = 10.0
TOO_LARGE = b"Request header fields too large."
TOO_SLOW = b"Request timeout."


def hand_down(settings: Settings) -> None:
    """Put the head bounds where every worker's protocol reads them."""
    os.environ[LIMIT_ENV] = str(settings.max_header_bytes)
    os.environ[TIMEOUT_ENV] = str(settings.header_timeout)


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head over the limit."""


class LazyTimer:
    """A timer that a request path only writes a deadline to: armed once, when it starts and
    none is armed; when it fires before the deadline (a later one's), armed again for the rest;
    `expired` is called once the deadline has passed. Per request that is an attribute write,
    where arming and cancelling a timer handle cost as much as a small answer."""

    def __init__(self, loop: AbstractEventLoop, expired: Callable[[], None]) -> None:
        self.loop, self.expired = loop, expired
        self.deadline: float | None = None
        self.handle: TimerHandle | None = None

    def start(self, seconds: float) -> None:
        self.deadline = self.loop.time() + seconds
        if self.handle is None:
            self.handle = self.loop.call_at(self.deadline, self._fired)

    def stop(self) -> None:
        self.deadline = None  # the handle, when it fires, finds nothing to time

    def cancel(self) -> None:
        self.deadline = None
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _fired(self) -> None:
        self.handle = None
        deadline = self.deadline
        if deadline is None:
            return
        if self.loop.time() < deadline:
            self.handle = self.loop.call_at(deadline, self._fired)
            return
        self.deadline = None
        self.expired()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Counts the bytes of each head as they are read, and times each head.

    A head is counted from the end of the previous request (or the connection's start) to its
    blank line. Bytes are fed to the parser at most up to the room left, so a head over the limit
    is refused before the parser sees more of it, in one read or many, alone or pipelined. Only a
    head that begins right after a request body in the same read is measured, for that read, by
    what the parser reports of it (request line, header names and values, separators), which
    leaves out optional whitespace; its later reads count in full.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = int(os.environ.get(LIMIT_ENV, DEFAULT_LIMIT))
        self.head_timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
        self.head_bytes = 0
        self.head_tail = b""  # the last bytes of the head so far: its blank line may straddle reads
        self.in_head = True  # awaiting or reading a head (not a body, not a response)
        self.feeding = False  # inside one call of the parser
        self.head_began_mid_piece = False
        self.head_too_large = False
        self.head_timer = LazyTimer(self.loop, self._head_timed_out)  # of the head being read
        # uvicorn's keep-alive timer, armed the same way (its `timeout_keep_alive_task` unused)
        self.keep_alive = LazyTimer(self.loop, self.timeout_keep_alive_handler)
        self.idle_since = 0.0

    # The head's time
    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.idle_since = self.loop.time()
        self.head_timer.start(self.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.head_timer.cancel()
        self.keep_alive.cancel()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        """uvicorn's, with its keep-alive timer a `LazyTimer`."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.keep_alive.stop()
        self.flow.resume_reading()
        if self.pipeline:  # a pipelined request was waiting: it goes on
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self.keep_alive.start(self.timeout_keep_alive)
        self.idle_since = self.loop.time()
        # The connection now waits for a head; one already begun (sent while this answer was
        # made) starts its time now.
        if self.keep_alive.deadline is not None and self.head_bytes:
            self.head_timer.start(self.head_timeout)

    def _unset_keepalive_if_required(self) -> None:
        self.keep_alive.stop()  # data came: the connection is not idle

    def _answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _head_timed_out(self) -> None:
        # While an answer is made, the head's time starts again with its next bytes.
        if self.transport.is_closing() or self._answering():
            return
        count_head_timeout()
        if self.in_head and self.head_bytes:  # a head was started: say why it ends
            self._answer(b"408 Request Timeout", TOO_SLOW)
        self.transport.close()

    # The head's size
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_too_large = False

    def on_url(self, url: bytes) -> None:
        if self.head_began_mid_piece and not self.url:  # the request line's other parts too
            self._count_parsed(len(self.parser.get_method()) + len(b"  HTTP/1.1\r\n"))
        self._count_parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_parsed(len(name) + len(value) + 3)  # ":" and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._count_parsed(2)  # the blank line
        self.in_head = False
        self.head_timer.stop()
        self._make_room()
        self.begin_request()

    def begin_request(self) -> None:
        """The head is read and within bounds: uvicorn makes the request's cycle."""
        super().on_headers_complete()

    # Idle connections, under max_concurrency
    def idle(self) -> bool:
        """Waiting for a request that has not begun: nothing would be lost by closing it."""
        return (self.in_head and not self.head_bytes and not self._answering()
                and not self.transport.is_closing())

    def _make_room(self) -> None:
        """At `max_concurrency`, close the connections idle the longest rather than answer this
        request 503: idle keep-alive connections, and new ones that have sent nothing, would
        otherwise hold the slots (RFC 9112 §9.6: a client must expect an idle connection to be
        closed, and retries on a new one)."""
        limit = self.limit_concurrency
        if limit is None or len(self.connections) < limit:
            return
        idle = [c for c in self.connections
                if c is not self and isinstance(c, BoundedHttpToolsProtocol) and c.idle()]
        for connection in sorted(idle, key=lambda c: c.idle_since)[:len(self.connections) - limit + 1]:
            connection.transport.close()
            self.connections.discard(connection)  # uvicorn counts it until its close is done

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.end_of_request()

    def end_of_request(self) -> None:
        """The request is read: what comes next is the next one's head."""
        self.in_head, self.head_bytes, self.head_tail = True, 0, b""
        self.head_began_mid_piece = self.feeding

    def data_received(self, data: bytes) -> None:
        # An idle keep-alive connection is uvicorn's to close; a head's time runs from its first
        # byte (from connecting, for a connection's first head), as node's headersTimeout does.
        if self.in_head and self.head_timer.deadline is None and not self._answering():
            self.head_timer.start(self.head_timeout)
        while data and not self.transport.is_closing():
            if not self.in_head:  # a body: the parser takes all of it
                piece, data = data, b""
            else:
                room = self.max_head_bytes - self.head_bytes
                if room <= 0:
                    self._refuse()
                    return
                cut = self._head_cut(data, room)
                piece, data = data[:cut], data[cut:]
                self.head_bytes += len(piece)
                self.head_tail = piece[-3:] if len(piece) >= 3 else (self.head_tail + piece)[-3:]
            self.feeding = True
            try:
                super().data_received(piece)
            finally:
                self.feeding = self.head_began_mid_piece = False

    def _head_cut(self, data: bytes, room: int) -> int:
        """Where the piece of a head ends: at its blank line when that is within `room` (so a
        head pipelined behind it starts a piece of its own and is counted in full), else at
        `room`. Only where to cut is guessed here: the parser still decides what the bytes are."""
        if not self.head_tail:  # the head's first piece: no blank line can straddle
            end = data.find(b"\r\n\r\n", 0, room)
            return room if end < 0 else end + 4
        window = self.head_tail + data[:room]
        end = window.find(b"\r\n\r\n")
        return room if end < 0 else max(1, end + 4 - len(self.head_tail))

    def _count_parsed(self, size: int) -> None:
        if not self.head_began_mid_piece:
            return
        self.head_bytes += size
        if self.head_bytes > self.max_head_bytes:
            self.head_too_large = True
            raise HeadTooLarge  # the parser stops; uvicorn answers through send_400_response

    def send_400_response(self, msg: str) -> None:
        if self.head_too_large:
            self._refuse()
        else:
            self._answer(b"400 Bad Request", msg.encode("ascii", "replace"))
            self.transport.close()

    def _refuse(self) -> None:
        self._answer(b"431 Request Header Fields Too Large", TOO_LARGE)
        self.transport.close()

    def _answer(self, status: bytes, body: bytes) -> None:
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"x-content-type-options: nosniff\r\n"
            b"cache-control: no-store\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
