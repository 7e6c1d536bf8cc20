"""`SmtpMailer` against a real SMTP server (aiosmtpd on 127.0.0.1), alone and in a flow."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine.testing import FlowTester
from mail.mailer import Mail, MailError, SmtpMailer

SENDER = "Gatehouse <no-reply@gatehouse.example>"
PASSWORD = "correct horse battery staple"
FLOWS = """\
flows:
  default:
    steps:
      identify: {type: identify, on: {success: password}}
      password: {type: password, on: {success: verify}}
      verify: {type: verify_email, on: {success: done, no_email: deny}}
"""


@dataclass
class Received:
    """One message as the server got it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    collector, port = Collector(), free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


async def test_smtp_mailer_delivers_to_a_real_server(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, starttls=False, timeout=5)
    text = "Line one.\nCafé: ouvert.\n"
    await mailer.send(Mail(to="alice@example.com", subject="Hello Alice, ça va?", text=text))
    [got] = collector.received
    assert got.mail_from == "no-reply@gatehouse.example"
    assert got.rcpt_tos == ["alice@example.com"]
    assert (got.message["From"], got.message["To"], got.message["Subject"]) == (
        SENDER, "alice@example.com", "Hello Alice, ça va?"
    )
    assert got.message.get_content_type() == "text/plain"
    assert got.message.get_content().replace("\r\n", "\n") == text  # CRLF on the wire


async def test_smtp_mailer_raises_mail_error_when_nothing_listens() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=5)
    with pytest.raises(MailError):
        await mailer.send(Mail(to="alice@example.com", subject="Hello", text="Hi.\n"))


async def test_verify_email_journey_over_smtp(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, starttls=False, timeout=5)
    async with FlowTester(FLOWS, mailer=mailer) as tester:
        user = await tester.add_user("alice", password=PASSWORD, email="alice@example.com")
        await tester.start()
        await tester.submit(login="alice")
        await tester.submit(password=PASSWORD)
        assert tester.step == "verify" and tester.page and tester.page.errors == {}
        [got] = collector.received
        assert got.rcpt_tos == ["alice@example.com"]
        assert got.message["Subject"] == "Your Gatehouse verification code"
        body = got.message.get_content()
        assert "If you did not ask for this, ignore this email." in body
        found = re.search(r"\b\d{8}\b", body)
        assert found
        await tester.submit(code=found.group())
        assert tester.result == "done" and tester.amr == ["pwd"]
        verified = await tester.store.users.get(user.id)
        assert verified is not None and verified.email_verified


async def test_a_server_without_starttls_is_refused_by_default(
    smtp_server: tuple[Collector, int],
) -> None:
    collector, port = smtp_server
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, timeout=5)
    with pytest.raises(MailError):
        await mailer.send(Mail(to="alice@example.com", subject="Hello", text="Hi.\n"))
