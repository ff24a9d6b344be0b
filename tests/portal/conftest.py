"""Fixtures of this folder: a real SMTP server (aiosmtpd) and fresh settings per test."""

from tests.mail_support import fresh_settings, smtp  # noqa: F401  (pytest finds fixtures imported here)
