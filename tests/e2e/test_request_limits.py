"""The server's own limits: bodies over `max_request_bytes` are refused unread, heads over
`max_header_bytes` are refused to the byte (in one write or many, alone or pipelined), a body that
trickles in is cut off after `request_timeout`, idle keep-alive connections are closed, and beyond
`max_concurrency` new connections get 503 at once. None of it is a 500."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx2
import pytest

from tests.e2e.raw_http import read_answers
from tests.e2e.server import RunningServer, start_server

LIMITS = {"max_request_bytes": 4096, "max_header_bytes": 8192, "request_timeout": 1,
          "keep_alive_timeout": 1, "max_concurrency": 6}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("limits"), **LIMITS)
    yield server
    server.stop()


def connect(server: RunningServer) -> socket.socket:
    url = httpx2.URL(server.issuer)
    return socket.create_connection((url.host, url.port), timeout=10)


def read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize("path", ["/token", "/authorize", "/logout"])
def test_a_body_over_the_limit_is_refused(limited: RunningServer, path: str) -> None:
    answer = httpx2.post(f"{limited.issuer}{path}", content=b"a=" + b"x" * 5000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    if path == "/token":  # an OAuth error, as every answer of the token endpoint (RFC 6749 §5.2)
        assert answer.status_code == 400 and answer.json() == {
            "error": "invalid_request", "error_description": "the request body is too large"}
    else:
        assert answer.status_code == 413 and "Request too large" in answer.text
    small = httpx2.post(f"{limited.issuer}/token", data={"grant_type": "x" * 3000})
    assert small.status_code in (400, 401)  # read and answered as usual


def test_a_body_that_trickles_in_is_cut_off(limited: RunningServer) -> None:
    with connect(limited) as sock:
        sock.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant")
        started = time.monotonic()
        answer = read_all(sock)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408") or answer == b"", answer[:200]
    assert waited < 10  # cut off, not left hanging until the client gives up


def test_an_idle_keep_alive_connection_is_closed(limited: RunningServer) -> None:
    with connect(limited) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_all(sock)  # the server closes the connection once idle
    assert answer.startswith(b"HTTP/1.1 200")


def test_a_busy_keep_alive_connection_stays_then_closes_once_idle(limited: RunningServer) -> None:
    """The keep-alive time counts from the last answer, not from the first one: a connection in
    use for three times `keep_alive_timeout` stays open, then closes about that long after its
    last answer."""
    with connect(limited) as sock:
        started = time.monotonic()
        while True:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert [a.status for a in read_answers(sock, 1)] == [200]  # still open
            last = time.monotonic()
            if last - started > 3 * LIMITS["keep_alive_timeout"]:
                break
            time.sleep(0.3)
        assert read_all(sock) == b""  # closed by the server, with nothing more said
        idle = time.monotonic() - last
    assert 0.5 * LIMITS["keep_alive_timeout"] < idle < 3 * LIMITS["keep_alive_timeout"]


def test_connections_beyond_the_limit_get_503_at_once(limited: RunningServer) -> None:
    held = [connect(limited) for _ in range(LIMITS["max_concurrency"])]
    try:
        for sock in held:  # a request started on each, its body never finished
            sock.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        deadline = time.monotonic() + 10  # until the server has taken in every held request
        while (refused := httpx2.get(f"{limited.issuer}/healthz")).status_code != 503:
            assert time.monotonic() < deadline, refused.status_code
            time.sleep(0.1)
    finally:
        for sock in held:
            sock.close()
    time.sleep(1.5)
    assert httpx2.get(f"{limited.issuer}/healthz").status_code == 200


@pytest.mark.parametrize("size", [9000, 20_000_000])
def test_a_head_over_the_limit_is_refused_unbuffered(limited: RunningServer, size: int) -> None:
    answer, reset = b"", False
    with connect(limited) as sock:
        try:
            sock.sendall(b"GET /account HTTP/1.1\r\nHost: x\r\nCookie: a=" + b"x" * size)
            answer = read_all(sock)
        except (BrokenPipeError, ConnectionResetError):
            reset = True  # closed while we were still sending: it did not wait for all of it
    # Closing with our unread bytes in its buffer resets the connection, which can drop the 431.
    assert answer.startswith(b"HTTP/1.1 431 ") or (reset and size > 1_000_000), answer[:100]
    fine = httpx2.get(f"{limited.issuer}/healthz", headers={"Cookie": "a=" + "x" * 6000})
    assert fine.status_code == 200


def head_of(size: int, path: bytes = b"/healthz") -> bytes:
    """A complete request head of exactly `size` bytes that asks to close the connection."""
    start = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
    return start + b"p" * (size - len(start) - 4) + b"\r\n\r\n"


def send_head(server: RunningServer, head: bytes, piece: int) -> bytes:
    """Send `head` in writes of `piece` bytes, a pause between them; all that comes back."""
    with connect(server) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for at in range(0, len(head), piece):
            try:
                sock.sendall(head[at:at + piece])
            except (BrokenPipeError, ConnectionResetError):
                break  # refused before the rest was sent
            if piece < len(head):
                time.sleep(0.02)
        return read_all(sock)


@pytest.mark.parametrize("piece", [1_000_000, 1000], ids=["one write", "trickled"])
def test_the_head_limit_is_exact(limited: RunningServer, piece: int) -> None:
    limit = LIMITS["max_header_bytes"]
    assert send_head(limited, head_of(limit), piece).startswith(b"HTTP/1.1 200 ")
    assert send_head(limited, head_of(limit + 1), piece).startswith(b"HTTP/1.1 431 ")
    assert send_head(limited, head_of(100_000), piece).startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize("extra", [0, 1])
def test_the_limit_is_exact_for_a_pipelined_head(limited: RunningServer, extra: int) -> None:
    """A head behind another request in the same write is measured on its own."""
    first = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = send_head(limited, first + head_of(LIMITS["max_header_bytes"] + extra), 1_000_000)
    if extra:  # refused before the first is answered: the connection ends there
        assert answer.startswith(b"HTTP/1.1 431 ") and answer.count(b"HTTP/1.1 ") == 1, answer[:300]
    else:
        assert answer.count(b"HTTP/1.1 200 ") == 2, answer[:300]


def test_a_head_over_the_limit_after_a_body_is_refused(limited: RunningServer) -> None:
    first = b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\ngrant_type=x"
    answer = send_head(limited, first + head_of(2 * LIMITS["max_header_bytes"]), 1_000_000)
    assert answer.startswith(b"HTTP/1.1 431 ") and answer.count(b"HTTP/1.1 ") == 1, answer[:300]


@pytest.mark.parametrize(
    ("head", "status"),
    [(head_of(2 * LIMITS["max_header_bytes"]), b"431"), (b"GET /\x01 HTTP/1.1\r\n\r\n", b"400")],
    ids=["too large", "malformed"],
)
def test_the_servers_own_answers_are_not_sniffed_or_stored(
    limited: RunningServer, head: bytes, status: bytes
) -> None:
    """Answers the protocol writes before the application sees a request carry the same
    content-type and caching guards as the application's own."""
    answer = send_head(limited, head, 1_000_000)
    lines = answer.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
    assert lines[0].startswith(b"http/1.1 " + status + b" "), answer[:300]
    assert b"x-content-type-options: nosniff" in lines, answer[:300]
    assert b"cache-control: no-store" in lines, answer[:300]
