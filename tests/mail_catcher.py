"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests."""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.e2e.server import free_port


class _Keep:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"


class MailCatcher:
    """`with MailCatcher() as smtp:` then point the server at `smtp.port` on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self._keep = _Keep()
        self._controller = Controller(self._keep, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> MailCatcher:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[Message]:
        return self._keep.messages

    def wait_for(self, to: str, count: int = 1, timeout: float = 10) -> Message:
        """The `count`-th message to `to` (waiting for it to arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = [m for m in self.messages if to in str(m["To"])]
            if len(sent) >= count:
                return sent[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"no message {count} to {to}; got {[m['To'] for m in self.messages]}")

    def code_for(self, to: str, count: int = 1) -> str:
        """The one-time code in the `count`-th message to `to`."""
        body = self.wait_for(to, count).get_payload(decode=True)
        assert isinstance(body, bytes)
        found = re.search(r"\b(\d{6,8})\b", body.decode())
        assert found, body
        return found.group(1)
