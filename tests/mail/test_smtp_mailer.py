"""`SmtpMailer` against a real SMTP server (aiosmtpd on 127.0.0.1), alone and in a flow."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from engine.testing import FlowTester
from mail.mailer import Mail, MailError, SmtpMailer
from tests.mail_catcher import MailCatcher
from tests.ports import free_port

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


@pytest.fixture
def smtp_server() -> Iterator[MailCatcher]:
    with MailCatcher() as catcher:
        yield catcher


async def test_smtp_mailer_delivers_to_a_real_server(smtp_server: MailCatcher) -> None:
    collector, port = smtp_server, smtp_server.port
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


async def test_verify_email_journey_over_smtp(smtp_server: MailCatcher) -> None:
    collector, port = smtp_server, smtp_server.port
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
    smtp_server: MailCatcher,
) -> None:
    collector, port = smtp_server, smtp_server.port
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, timeout=5)
    with pytest.raises(MailError):
        await mailer.send(Mail(to="alice@example.com", subject="Hello", text="Hi.\n"))
    assert collector.received == []  # nothing went out in the clear
