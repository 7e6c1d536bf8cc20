"""A tiny HTTP server on loopback that records what is posted to it (a relying party's back-channel
endpoint, a page that redirects, a huge answer), for tests of outbound requests."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import trustme


@dataclass
class Receiver:
    url: str
    posts: list[dict[str, list[str]]] = field(default_factory=list)


@contextmanager
def receiver(
    status: int = 200, body: bytes = b"", location: str | None = None,
    tls: trustme.CA | None = None,
) -> Iterator[Receiver]:
    """With `tls`, it answers https with a certificate for 127.0.0.1 from that CA."""
    received: list[dict[str, list[str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self._answer()

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            received.append(parse_qs(self.rfile.read(length).decode()))
            self._answer()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.issue_cert("127.0.0.1").configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"{scheme}://127.0.0.1:{server.server_address[1]}/endpoint", received)
    finally:
        server.shutdown()
        server.server_close()
