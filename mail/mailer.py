"""Mailers: SMTP (aiosmtplib) in production, the log in development, a list in tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

log = logging.getLogger("gatehouse.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Deliver `mail`; raises `MailError` when it cannot."""


class MailError(Exception):
    """The message could not be handed to the mail server."""


@dataclass
class SmtpMailer:
    """Hands each message to an SMTP server over implicit TLS or STARTTLS (plain only when the
    settings say so, e.g. a relay on the same host)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    starttls: bool = True  # refuse a server that does not upgrade (no silent downgrade)
    timeout: float = 10.0

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, mail.to, mail.subject
        message.set_content(mail.text)
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=False if self.use_tls else self.starttls,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("could not send mail to the SMTP server %s:%s: %s", self.host, self.port, exc)
            raise MailError(str(exc)) from exc


class LogMailer:
    """Development only: writes each message to the log instead of sending it."""

    async def send(self, mail: Mail) -> None:
        log.warning("no SMTP server configured; mail to %s: %s\n%s", mail.to, mail.subject, mail.text)


@dataclass
class MemoryMailer:
    """Keeps messages in a list (FlowTester and unit tests)."""

    sent: list[Mail] = field(default_factory=list)

    async def send(self, mail: Mail) -> None:
        self.sent.append(mail)
