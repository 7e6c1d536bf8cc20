"""Sending email: one-time codes for email verification and password reset."""
