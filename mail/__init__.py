"""Sending email: one-time codes for email verification and password reset.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from mail.mailer import LogMailer, Mail, Mailer, MailError, MemoryMailer, SmtpMailer

__all__ = [
    "LogMailer",
    "Mail",
    "MailError",
    "Mailer",
    "MemoryMailer",
    "SmtpMailer",
]
