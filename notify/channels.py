"""Delivery channels behind one small interface: `Channel.send(address, subject, body)`.

`SmtpChannel` sends real e-mail with the standard library's smtplib. SMS IS SIMULATED:
`LogSmsChannel` only logs that a message was queued to a masked number (e.g. ***1234) and never
the content; a real SMS gateway plugs in behind the same interface with `register_sms_channel`
and the setting `sms_channel`. `WebhookChannel` POSTs a JSON body to a URL (the ledger's witnesses).
Channels raise `ChannelError` (or the library's own error) on
failure; the dispatcher retries and never lets an error escape.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

import httpx

from config.settings import Settings, get_settings

logger = logging.getLogger(__name__)


class ChannelError(Exception):
    """A channel could not deliver (its message names no address and no content)."""


class Channel(Protocol):
    """Something that delivers one message to one address."""

    def send(self, address: str, subject: str, body: str) -> None:
        """Deliver `body` to `address`; raise on failure."""
        ...


def mask_phone(number: str) -> str:
    """A phone number reduced to its last four digits (***1234), safe to log."""
    digits = "".join(c for c in number if c.isdigit())
    return "***" + digits[-4:] if len(digits) >= 4 else "***"


class SmtpChannel:
    """Real e-mail through the configured SMTP server (plain, STARTTLS or implicit TLS)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_ssl:
            return smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds,
                                    context=ssl.create_default_context())
        conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        if s.smtp_starttls:
            conn.starttls(context=ssl.create_default_context())
        return conn

    def send(self, address: str, subject: str, body: str) -> None:
        """Send one plain-text UTF-8 e-mail."""
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.mail_from
        msg["To"] = address
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=s.mail_from.rpartition("@")[2] or None)
        msg.set_content(body, charset="utf-8")
        with self._connect() as conn:
            if s.smtp_username:
                conn.login(s.smtp_username, s.smtp_password.get_secret_value())
            conn.send_message(msg)
        logger.info("e-mail handed to SMTP server %s:%s", s.smtp_host, s.smtp_port)


class LogSmsChannel:
    """SIMULATED SMS: logs that a message was queued to a masked number; sends nothing, logs no content."""

    def send(self, address: str, subject: str, body: str) -> None:
        """Log the masked number only (the content is confidential before the start, rule D5)."""
        if not any(c.isdigit() for c in address):
            raise ChannelError("not a phone number")
        logger.info("SMS queued to %s (simulated: no SMS gateway configured)", mask_phone(address))


class WebhookChannel:
    """POSTs the message body (a JSON document) to the address, a URL; an answer other than 2xx is a failure."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    def send(self, address: str, subject: str, body: str) -> None:
        """POST `body` as application/json (the subject travels inside it)."""
        try:
            answer = httpx.post(address, content=body.encode("utf-8"), timeout=self.settings.smtp_timeout_seconds,
                                headers={"Content-Type": "application/json; charset=utf-8"})
        except httpx.HTTPError as exc:
            raise ChannelError(f"webhook unreachable ({type(exc).__name__})") from None
        if not 200 <= answer.status_code < 300:
            raise ChannelError(f"webhook answered HTTP {answer.status_code}")
        logger.info("webhook delivered (HTTP %s)", answer.status_code)


_SMS_CHANNELS: dict[str, Callable[[Settings], Channel]] = {"log": lambda _s: LogSmsChannel()}


def register_sms_channel(name: str, factory: Callable[[Settings], Channel]) -> None:
    """Make an SMS gateway selectable with the setting `sms_channel = name`."""
    _SMS_CHANNELS[name] = factory


def channel_for(kind: str, settings: Settings | None = None) -> Channel:
    """The configured channel for "email" or "sms"; ChannelError for an unknown one."""
    s = settings or get_settings()
    if kind == "email":
        return SmtpChannel(s)
    if kind == "webhook":
        return WebhookChannel(s)
    if kind == "sms":
        factory = _SMS_CHANNELS.get(s.sms_channel)
        if factory is None:
            raise ChannelError(f"unknown sms_channel setting {s.sms_channel!r}")
        return factory(s)
    raise ChannelError(f"unknown channel {kind!r}")
