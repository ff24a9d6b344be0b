"""The outbox on both databases: enqueue, real SMTP delivery, retries, SMS stand-in, reminders, sealing."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

import ledger
from evaluation import invitations
from evaluation import service as draws
from evaluation.importer import import_instance
from evaluation.models import Draw
from experts.models import Expert
from notify import service
from notify.channels import LogSmsChannel, mask_phone
from notify.models import Notification
from tests.factories_instance import tiny_day
from tests.mail_support import Inbox, free_port, give_emails, use_settings

BEFORE = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the tiny day starts 2026-11-23T01:00Z
CODES = [f"E{i:02d}" for i in range(1, 16)]


def drawn(session: Session) -> Draw:
    import_instance(session, tiny_day()[0])
    session.commit()
    return draws.draw(session, project_codes=["P1"], seed_hex="5eed")


def holders(session: Session, draw_id: int) -> list[str]:
    return [h.expert_code for h in invitations.seat_holders(session, draw_id=draw_id)]


def raw_rows(session: Session, table: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in session.execute(text(f"SELECT * FROM {table}")).all()]


def assert_nothing_in_clear(session: Session, secrets: list[str]) -> None:
    """No expert code or address appears in clear in any column of the outbox or RSVP tables (D5)."""
    for table in ("notifications", "rsvps"):
        rows = raw_rows(session, table)
        assert rows
        for row in rows:
            for value in row:
                blob = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                assert not any(s.encode() in blob for s in secrets), (table, value)


def test_draw_mails_one_per_seat_without_project_particulars(session: Session, smtp: Inbox) -> None:
    row = drawn(session)
    assert row.id is not None
    emails = give_emails(session)
    seated = holders(session, row.id)
    assert len(seated) == 4
    assert invitations.enqueue_draw_notifications(session, draw_id=row.id, now=BEFORE) == 4
    session.commit()
    # Enqueuing again adds nothing: once per seat holder.
    assert invitations.enqueue_draw_notifications(session, draw_id=row.id, now=BEFORE) == 0
    assert service.dispatch_pending(session, now=BEFORE) == 4
    session.commit()
    bodies = smtp.bodies()
    assert sorted(emails[a] for a in bodies) == sorted(seated)
    for h in invitations.seat_holders(session, draw_id=row.id):
        body = bodies[h.expert_code.lower() + "@experts.test"]
        assert "2026-11-23 09:00" in body and h.site.name in body and h.room_code in body
        assert "/rsvp/" in body and "action=confirm" in body and "action=decline" in body
        assert body.index("评标时间") < body.index("English") < body.index("Time:")
        for secret in ("TEND", "AGENT", "BID1", "BID2", "tiny road works", "35000000", "P1"):
            assert secret not in body
    statuses = session.exec(select(Notification.status)).all()
    assert statuses == ["sent"] * 4
    assert [e.kind for e in ledger.entries(session)].count("notify.sent") == 4
    sent = [e for e in ledger.entries(session) if e.kind == "notify.sent"]
    assert all(set(json.loads(e.payload)) == {"id"} for e in sent)
    assert ledger.verify(session).ok
    assert_nothing_in_clear(session, CODES + list(emails))


def test_smtp_down_retries_then_fails_without_raising(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, smtp_host="127.0.0.1", smtp_port=free_port(), notify_max_attempts=3,
                 notify_retry_base_seconds=60, smtp_timeout_seconds=2)
    row = drawn(session)
    assert row.id is not None
    give_emails(session)
    assert invitations.enqueue_draw_notifications(session, draw_id=row.id, now=BEFORE) == 4
    assert service.dispatch_pending(session, now=BEFORE, limit=1) == 0
    first = session.exec(select(Notification).where(Notification.attempts == 1)).one()
    assert first.status == "pending" and first.last_error and "@" not in first.last_error
    assert invitations.aware(first.next_attempt_at) == BEFORE + timedelta(seconds=60)
    # Not due again before its backoff.
    others = [n for n in session.exec(select(Notification)).all() if n.id != first.id]
    for n in others:
        n.next_attempt_at = BEFORE + timedelta(days=1)
        session.add(n)
    assert service.dispatch_pending(session, now=BEFORE + timedelta(seconds=30)) == 0
    assert first.attempts == 1
    service.dispatch_pending(session, now=BEFORE + timedelta(seconds=60))
    assert first.attempts == 2 and first.status == "pending"
    assert invitations.aware(first.next_attempt_at) == BEFORE + timedelta(seconds=60 + 120)
    service.dispatch_pending(session, now=BEFORE + timedelta(seconds=180))
    assert first.attempts == 3 and first.status == "failed"
    session.commit()
    failed = [e for e in ledger.entries(session) if e.kind == "notify.failed"]
    assert [json.loads(e.payload) for e in failed] == [{"id": first.id}]


def test_sms_stand_in_logs_a_masked_number_and_no_body(session: Session, caplog: pytest.LogCaptureFixture) -> None:
    row = drawn(session)
    assert row.id is not None
    for i, expert in enumerate(session.exec(select(Expert)).all()):
        expert.phone = f"+86 138 0000 {1000 + i}"
        session.add(expert)
    session.commit()
    assert invitations.enqueue_draw_notifications(session, draw_id=row.id, now=BEFORE) == 4
    with caplog.at_level(logging.INFO):
        assert service.dispatch_pending(session, now=BEFORE) == 4
    sms = [r.getMessage() for r in caplog.records if r.name == "notify.channels"]
    assert len(sms) == 4 and all("***" in m and "simulated" in m for m in sms)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "+86" not in logged and "138 0000" not in logged and "/rsvp/" not in logged and "评标" not in logged
    assert session.exec(select(Notification.channel)).all() == ["sms"] * 4


def test_log_sms_channel_direct(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="notify.channels"):
        LogSmsChannel().send("+86 139-1234-5678", "subject text", "secret body text")
    assert [r.getMessage() for r in caplog.records] == [
        "SMS queued to ***5678 (simulated: no SMS gateway configured)"]
    assert mask_phone("12") == "***"


def test_reminders_once_per_seat_holder_within_the_window(session: Session, smtp: Inbox) -> None:
    row = drawn(session)
    assert row.id is not None
    give_emails(session)
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert invitations.enqueue_reminders(session, now=start - timedelta(hours=30)) == 0
    assert invitations.enqueue_reminders(session, now=start - timedelta(hours=20)) == 4
    assert invitations.enqueue_reminders(session, now=start - timedelta(hours=10)) == 0
    assert invitations.enqueue_reminders(session, now=start + timedelta(minutes=1)) == 0
    assert service.dispatch_pending(session, now=start - timedelta(hours=10)) == 4
    session.commit()
    subjects = [str(msg["Subject"]) for _, msg in smtp.messages]
    assert len(subjects) == 4 and all("评标提醒" in s and "reminder" in s for s in subjects)


@pytest.mark.parametrize(("invited_before", "reminded"), [(30, 4), (2, 0)])
def test_an_invitation_inside_the_reminder_window_is_the_reminder(session: Session, invited_before: int,
                                                                   reminded: int) -> None:
    # A project drawn the evening before its start must not mail each expert twice within minutes.
    row = drawn(session)
    assert row.id is not None
    give_emails(session)
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    invited_at = start - timedelta(hours=invited_before)
    assert invitations.enqueue_draw_notifications(session, draw_id=row.id, now=invited_at) == 4
    assert invitations.enqueue_reminders(session, now=start - timedelta(hours=1)) == reminded
