"""Connections that never finish a request head are closed after `header_timeout`, counted in
`gatehouse_http_head_timeouts_total`, and while they last other clients are still served: silent
new connections, a head cut off half way, and a keep-alive connection that starts its next head
and stops (each byte it sends restarts uvicorn's idle timer). At `max_concurrency`, idle
connections are closed to make room for a request; connections whose head has begun are not."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx2
import pytest

from tests.e2e.server import RunningServer, start_server
from tests.e2e.test_request_limits import connect
from tests.observe.support import scrape, value

MAX_CONCURRENCY = 8
SETTINGS = {"header_timeout": 1, "keep_alive_timeout": 60, "max_concurrency": MAX_CONCURRENCY}
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
TIMEOUTS = "gatehouse_http_head_timeouts_total"
BOUND = 20  # seconds: far beyond header_timeout; the old server never closed these at all


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("slow-heads"), **SETTINGS)
    yield running
    running.stop()


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length body, read off a connection that stays open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def wait_closed(sock: socket.socket) -> bytes:
    """All the server sends until it closes the connection (at most BOUND seconds)."""
    sock.settimeout(BOUND)
    received = b""
    while chunk := sock.recv(65536):  # socket.timeout (a failure) if it is never closed
        received += chunk
    return received


def slow_connections(
    server: RunningServer, count: int
) -> tuple[list[socket.socket], list[socket.socket]]:
    """`count` connections: a keep-alive one after a full request and answer that starts its next
    head and stops, three whose first head stops half way, and the rest silent."""
    kept_alive = connect(server)
    kept_alive.sendall(HEALTHZ)
    assert read_response(kept_alive).startswith(b"HTTP/1.1 200")
    for byte in b"GET /he":  # the next head, a byte at a time
        kept_alive.sendall(bytes([byte]))
        time.sleep(0.05)
    started = [connect(server) for _ in range(3)]
    for sock in started:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # no blank line: never complete
    silent = [connect(server) for _ in range(count - 4)]
    return silent, [kept_alive, *started]


async def test_slow_heads_are_closed_and_counted_while_others_are_served(
    server: RunningServer,
) -> None:
    before = value(await scrape(server.issuer), TIMEOUTS)
    fine = connect(server)  # a client already connected, whose request comes in the meantime
    slow = MAX_CONCURRENCY - 2
    silent, started = slow_connections(server, slow)
    try:
        fine.sendall(HEALTHZ)
        assert read_response(fine).startswith(b"HTTP/1.1 200")
        for sock in silent:
            assert wait_closed(sock) == b""  # nothing was asked: nothing is answered
        for sock in started:
            assert wait_closed(sock).startswith(b"HTTP/1.1 408 "), "a head left unfinished"
    finally:
        for sock in [fine, *silent, *started]:
            sock.close()
    assert value(await scrape(server.issuer), TIMEOUTS) == before + slow
    assert httpx2.get(f"{server.issuer}/healthz").status_code == 200


def test_connections_at_the_limit_free_up_once_their_heads_time_out(server: RunningServer) -> None:
    held = [connect(server) for _ in range(MAX_CONCURRENCY)]
    try:
        for sock in held:  # each has begun a head: none is idle, none may be closed for room
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer = httpx2.get(f"{server.issuer}/healthz")
        assert answer.status_code == 503  # every slot is held: refused at once, never queued
        deadline = time.monotonic() + BOUND
        while (answer := httpx2.get(f"{server.issuer}/healthz")).status_code != 200:
            assert answer.status_code == 503, answer.status_code
            assert time.monotonic() < deadline, "the held connections were never closed"
            time.sleep(0.1)
    finally:
        for sock in held:
            sock.close()


def test_idle_connections_at_the_limit_make_room_for_a_request(server: RunningServer) -> None:
    """Connections that wait for a request that has not begun are closed, the longest idle
    first, so that a request is served instead of refused.

    Every connection here was served once and then waits (keep_alive_timeout is 60 s): new
    silent ones would be closed by header_timeout (1 s) on their own on a slow machine, and
    then no room would have to be made."""
    oldest, *newer = (served_once(server) for _ in range(MAX_CONCURRENCY))
    try:
        assert httpx2.get(f"{server.issuer}/healthz").status_code == 200
        assert wait_closed(oldest) == b""
    finally:
        for sock in [oldest, *newer]:
            sock.close()


def served_once(server: RunningServer) -> socket.socket:
    """A keep-alive connection after one request and its answer."""
    sock = connect(server)
    sock.sendall(HEALTHZ)
    assert read_response(sock).startswith(b"HTTP/1.1 200")
    return sock


def test_a_complete_head_is_not_cut_off_by_a_slow_answer(server: RunningServer) -> None:
    """The timer stops when the head is complete: a body may take `request_timeout`."""
    with connect(server) as sock:
        sock.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\n")
        time.sleep(2)  # twice header_timeout, well within request_timeout (30 s)
        sock.sendall(b"grant_type=unsupported")
        head = read_response(sock)
    assert head.startswith(b"HTTP/1.1 401"), head  # read and answered: no client was named
