"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.ports import free_port


@dataclass
class Received:
    """One message as the server got it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class _Keep:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
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
    def received(self) -> list[Received]:
        return self._keep.received

    def wait_for(self, to: str, count: int = 1, timeout: float = 10) -> EmailMessage:
        """The `count`-th message to `to` (waiting for it to arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = [r.message for r in self.received if to in r.rcpt_tos]
            if len(sent) >= count:
                return sent[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"no message {count} to {to}; got {[r.rcpt_tos for r in self.received]}")

    def code_for(self, to: str, count: int = 1) -> str:
        """The one-time code in the `count`-th message to `to`."""
        body = self.wait_for(to, count).get_content()
        found = re.search(r"\b(\d{6,8})\b", body)
        assert found, body
        return found.group(1)
