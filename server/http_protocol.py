"""uvicorn's httptools protocol with a bound on each request's head (request line and headers).

httptools buffers a head of any size: without a bound, one client could make a process hold
gigabytes of headers. Bytes received while a head is incomplete are counted; past the bound the
request is answered 431 (RFC 6585 §5) and the connection closed.
"""

from __future__ import annotations

import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Worker processes are started afresh, so `serve` hands the setting down in the environment.
LIMIT_ENV = "GATEHOUSE_MAX_HEADER_BYTES"
DEFAULT_LIMIT = 32 * 1024
TOO_LARGE = b"Request header fields too large."


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = int(os.environ.get(LIMIT_ENV, DEFAULT_LIMIT))
        self.head_bytes = 0
        self.in_head = True

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self.in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head_bytes:
                self._refuse()

    def _refuse(self) -> None:
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(TOO_LARGE)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + TOO_LARGE
        )
        self.transport.close()
