"""HTTP/1.1 over a plain socket, for tests that control how the bytes go out (pipelined, split,
HTTP/1.0): requests written as given, answers read back with h11."""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass

import h11

from tests.e2e.server import SERVICE_SECRET

SERVICE_BASIC = "Basic " + base64.b64encode(f"service:{SERVICE_SECRET}".encode()).decode()
TOKEN_FORM = b"grant_type=client_credentials&scope=api%3Aread"


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def request(method: str, path: str, host: str, headers: dict[str, str] | None = None,
            body: bytes = b"", version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def token_request(host: str, headers: dict[str, str] | None = None) -> bytes:
    return request("POST", "/token", host, {
        "Authorization": SERVICE_BASIC, "Content-Type": "application/x-www-form-urlencoded",
        **(headers or {})}, TOKEN_FORM)


def read_answers(sock: socket.socket, count: int) -> list[RawAnswer]:
    """Up to `count` answers from `sock` (fewer if it closes), in the order they came."""
    reader = _reader(b"")
    answers: list[RawAnswer] = []
    current: RawAnswer | None = None
    while len(answers) < count:
        event = reader.next_event()
        if event is h11.NEED_DATA:
            reader.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            current = RawAnswer(event.status_code, {
                name.decode(): value.decode() for name, value in event.headers}, b"")
        elif isinstance(event, h11.Data) and current is not None:
            current.body += event.data
        elif isinstance(event, h11.EndOfMessage) and current is not None:
            answers.append(current)
            current = None
            if reader.their_state is h11.MUST_CLOSE:
                break
            reader = _reader(reader.trailing_data[0])
        else:  # the connection closed
            break
    return answers


def _reader(received: bytes) -> h11.Connection:
    """An h11 client reading one answer (to a GET: the requests went out as raw bytes), holding
    the bytes already received."""
    reader = h11.Connection(h11.CLIENT)
    reader.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    reader.send(h11.EndOfMessage())
    if received:  # (no bytes would tell h11 the connection closed)
        reader.receive_data(received)
    return reader


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(2)
    try:
        return sock.recv(1) == b""
    except OSError:
        return True
