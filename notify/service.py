"""The outbox: enqueue messages for drawn seats and reminders, dispatch them with retries.

Every outbox row seals its expert, address, subject and body (rule D5); the ledger records each
final outcome (`notify.sent`, `notify.failed`) with the notification's id only. Functions flush;
the caller commits.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

import ledger
from config.sealing import seal_text, unseal_text
from config.settings import get_settings
from notify.channels import Channel, channel_for
from notify.models import Channel as ChannelName
from notify.models import Notification, NotificationKind, notification_aad

logger = logging.getLogger(__name__)
ACTOR = "notify"


def enqueue(session: Session, *, channel: ChannelName, kind: NotificationKind, expert_code: str, address: str,
            subject: str, body: str, now: datetime, draw_id: int | None = None, project_id: int | None = None,
            rsvp: str | None = None) -> Notification:
    """Put one message in the outbox, its personal fields sealed; due now."""
    ref = secrets.token_hex(16)
    row = Notification(
        ref=ref, channel=channel, kind=kind, draw_id=draw_id, project_id=project_id, rsvp_ref=rsvp,
        created_at=now, next_attempt_at=now,
        expert_sealed=seal_text(expert_code, aad=notification_aad(ref, "expert")),
        address_sealed=seal_text(address, aad=notification_aad(ref, "address")),
        subject_sealed=seal_text(subject, aad=notification_aad(ref, "subject")),
        body_sealed=seal_text(body, aad=notification_aad(ref, "body")),
    )
    session.add(row)
    session.flush()
    return row


def _error_text(exc: BaseException) -> str:
    # Class name and SMTP reply code only: messages may quote the recipient's address.
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = "recipients refused"
    return f"{type(exc).__name__}" + (f" ({code})" if code else "")


def dispatch_pending(session: Session, *, now: datetime, limit: int = 100,
                     channels: Mapping[str, Channel] | None = None) -> int:
    """Send the due messages; a failure retries with backoff, then fails for good; returns the number sent."""
    s = get_settings()
    due = session.exec(select(Notification).where(
        Notification.status == "pending", col(Notification.next_attempt_at) <= now,
    ).order_by(col(Notification.next_attempt_at), col(Notification.id)).limit(limit)
        .with_for_update(skip_locked=True)).all()
    sent = 0
    for row in due:
        assert row.id is not None
        row.attempts += 1
        try:
            channel = (channels or {}).get(row.channel) or channel_for(row.channel, s)
            channel.send(unseal_text(row.address_sealed, aad=notification_aad(row.ref, "address")),
                         unseal_text(row.subject_sealed, aad=notification_aad(row.ref, "subject")),
                         unseal_text(row.body_sealed, aad=notification_aad(row.ref, "body")))
        except Exception as exc:  # noqa: BLE001 - any channel failure is retried, never raised
            row.last_error = _error_text(exc)[:200]
            if row.attempts >= s.notify_max_attempts:
                row.status = "failed"
                ledger.append(session, kind="notify.failed", subject=f"notification:{row.id}", actor=ACTOR,
                              payload={"id": row.id})
                logger.warning("notification %s failed for good after %d attempts: %s", row.id, row.attempts,
                               row.last_error)
            else:
                row.next_attempt_at = now + timedelta(seconds=s.notify_retry_base_seconds * 2 ** (row.attempts - 1))
                logger.info("notification %s attempt %d failed (%s); retry at %s", row.id, row.attempts,
                            row.last_error, row.next_attempt_at.isoformat())
        else:
            row.status, row.sent_at, row.last_error = "sent", now, None
            ledger.append(session, kind="notify.sent", subject=f"notification:{row.id}", actor=ACTOR,
                          payload={"id": row.id})
            sent += 1
        session.add(row)
        session.flush()
    return sent


