"""A real SMTP server in-process (aiosmtpd) and helpers for the notification tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from config.settings import get_settings
from experts.models import Expert


class Inbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        content = envelope.content  # type: ignore[attr-defined]
        msg = message_from_bytes(content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[attr-defined,arg-type]
        return "250 OK"

    def bodies(self) -> dict[str, str]:
        """Recipient → plain-text body (one message per recipient expected)."""
        return {to[0]: msg.get_content() for to, msg in self.messages}  # type: ignore[attr-defined]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def use_settings(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    """Set YIDI_* settings for this test (the Settings singleton is rebuilt)."""
    for key, value in values.items():
        monkeypatch.setenv(f"YIDI_{key.upper()}", str(value))
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Drop the cached Settings after each test, so env changes do not leak."""
    yield
    get_settings.cache_clear()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on a free 127.0.0.1 port, with the settings pointing at it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    use_settings(monkeypatch, smtp_host="127.0.0.1", smtp_port=port, notify_max_attempts=3,
                 notify_retry_base_seconds=60, mail_from="yidi@centre.test")
    try:
        yield inbox
    finally:
        controller.stop()


def email_of(code: str) -> str:
    """The test e-mail address of an expert."""
    return f"{code.lower()}@experts.test"


def give_emails(session: Session) -> dict[str, str]:
    """Give every expert an e-mail address; returns address → expert code."""
    out = {}
    for expert in session.exec(select(Expert)).all():
        expert.email = email_of(expert.code)
        out[expert.email] = expert.code
        session.add(expert)
    session.commit()
    return out
