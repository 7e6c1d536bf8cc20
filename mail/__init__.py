"""Sending email: one-time codes for email verification and password reset."""

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
