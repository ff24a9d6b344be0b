"""The outbox: enqueue messages for drawn seats and reminders, dispatch them with retries.

Every outbox row seals its expert, address, subject and body (rule D5); the ledger records each
final outcome (`notify.sent`, `notify.failed`) with the notification's id only. Functions flush;
the caller commits.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

import ledger
from config.settings import get_settings
from experts.models import Expert
from notify.channels import Channel, channel_for
from notify.compose import message, seat_facts
from notify.links import link_url, rsvp_ref
from notify.models import Channel as ChannelName
from notify.models import Notification, NotificationKind, Rsvp, notification_aad, rsvp_aad
from scheduler.models import Draw, Project, Seat
from scheduler.sealing import seal_text, seat_aad, unseal_text
from scheduler.service import DrawNotFound
from venues.models import Room, Site

logger = logging.getLogger(__name__)
ACTOR = "notify"


@dataclass(frozen=True)
class SeatHolder:
    """One drawn seat with its (unsealed, server-side only) expert code."""

    draw_id: int
    project: Project
    site: Site
    room_code: str
    expert_code: str


def aware(value: datetime) -> datetime:
    """`value` as an aware datetime (SQLite may hand back naive UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def seat_holders(session: Session, *, draw_id: int | None = None,
                 project_ids: Iterable[int] | None = None) -> list[SeatHolder]:
    """The current holders of the seats of a draw and/or projects, unsealed server-side."""
    stmt = select(Seat, Project, Site, Room).where(
        Seat.project_id == Project.id, Seat.site_id == Site.id, Seat.room_id == Room.id)
    if draw_id is not None:
        stmt = stmt.where(Seat.draw_id == draw_id)
    if project_ids is not None:
        stmt = stmt.where(col(Seat.project_id).in_(list(project_ids)))
    out = []
    for seat, project, site, room in session.exec(stmt.order_by(col(Seat.id))).all():
        code = unseal_text(seat.expert_sealed, aad=seat_aad(seat.draw_id, project.code, seat.need, room.code))
        out.append(SeatHolder(draw_id=seat.draw_id, project=project, site=site, room_code=room.code,
                              expert_code=code))
    return out


def ensure_rsvp(session: Session, *, draw_id: int, project: Project, expert_code: str) -> Rsvp:
    """The RSVP row of a seat holder, created (pending) when absent."""
    ref = rsvp_ref(draw_id, project.code, expert_code)
    row = session.exec(select(Rsvp).where(Rsvp.ref == ref)).first()
    if row is None:
        assert project.id is not None
        row = Rsvp(ref=ref, draw_id=draw_id, project_id=project.id,
                   expert_sealed=seal_text(expert_code, aad=rsvp_aad(ref)))
        session.add(row)
        session.flush()
    return row


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


INVITATIONS: tuple[str, ...] = ("draw", "replacement")


def notify_seat(session: Session, *, holder: SeatHolder, kind: NotificationKind, now: datetime) -> int:
    """Enqueue one `kind` message to a seat holder, once per seat holder and kind; returns 0 or 1."""
    rsvp = ensure_rsvp(session, draw_id=holder.draw_id, project=holder.project, expert_code=holder.expert_code)
    if rsvp.status == "declined":
        return 0
    # A replacement's message is its invitation: a later draw-wide enqueue must not invite again.
    same = list(INVITATIONS) if kind in INVITATIONS else [kind]
    done = session.exec(select(Notification.id).where(Notification.rsvp_ref == rsvp.ref,
                                                      col(Notification.kind).in_(same))).first()
    if done is not None or (kind == "reminder" and _invited_lately(session, rsvp.ref, holder.project.start)):
        return 0
    expert = session.exec(select(Expert).where(Expert.code == holder.expert_code)).first()
    if expert is None or not (expert.email or expert.phone):
        return 0
    channel: ChannelName = "email" if expert.email else "sms"
    address = expert.email or expert.phone
    assert address is not None
    facts = seat_facts(start=holder.project.start, site=holder.site, room_code=holder.room_code)
    subject, body = message(kind=kind, channel=channel, facts=facts, confirm_url=link_url(rsvp.ref, "confirm"),
                            decline_url=link_url(rsvp.ref, "decline"))
    enqueue(session, channel=channel, kind=kind, expert_code=holder.expert_code, address=address, subject=subject,
            body=body, now=now, draw_id=holder.draw_id, project_id=holder.project.id, rsvp=rsvp.ref)
    return 1


def _invited_lately(session: Session, ref: str, start: datetime) -> bool:
    """Whether the seat's invitation itself went out within the reminder window (a late draw or replacement).

    Such an invitation already is the reminder: a second message minutes later would only confuse.
    """
    since = aware(start) - timedelta(hours=get_settings().reminder_hours_before)
    invited = session.exec(select(Notification.created_at).where(
        Notification.rsvp_ref == ref, col(Notification.kind).in_(INVITATIONS))).all()
    return any(aware(at) >= since for at in invited)


def _notify_all(session: Session, holders: list[SeatHolder], *, kind: NotificationKind, now: datetime) -> int:
    count = sum(notify_seat(session, holder=h, kind=kind, now=now) for h in holders)
    unreachable = sum(1 for h in holders if not _reachable(session, h.expert_code))
    if unreachable:
        # Counts only: which expert lacks contact data would link them to the project (D5).
        logger.warning("%d seat holders have neither e-mail nor phone; the coordinator must call them", unreachable)
    return count


def _reachable(session: Session, expert_code: str) -> bool:
    expert = session.exec(select(Expert).where(Expert.code == expert_code)).first()
    return expert is not None and bool(expert.email or expert.phone)


def enqueue_draw_notifications(session: Session, *, draw_id: int, now: datetime,
                               project_codes: Iterable[str] | None = None) -> int:
    """Enqueue one message per drawn seat (e-mail, else SMS) with confirm/decline links; returns the count."""
    if session.get(Draw, draw_id) is None:
        raise DrawNotFound(draw_id)
    wanted = set(project_codes) if project_codes is not None else None
    holders = [h for h in seat_holders(session, draw_id=draw_id)
               if (wanted is None or h.project.code in wanted) and aware(h.project.start) > now]
    count = _notify_all(session, holders, kind="draw", now=now)
    logger.info("draw %s: %d notifications enqueued", draw_id, count)
    return count


def after_draw(session: Session, *, draw_id: int, now: datetime) -> int:
    """Enqueue the draw's notifications when `notify_on_draw` is set (the dispatch job sends them)."""
    if not get_settings().notify_on_draw:
        return 0
    return enqueue_draw_notifications(session, draw_id=draw_id, now=now)


def enqueue_reminders(session: Session, *, now: datetime) -> int:
    """Enqueue a reminder to each seat holder of projects starting within `reminder_hours_before` hours."""
    until = now + timedelta(hours=get_settings().reminder_hours_before)
    ids = [p.id for p in session.exec(select(Project).where(
        col(Project.start) > now, col(Project.start) <= until, Project.status == "drawn")).all() if p.id is not None]
    if not ids:
        return 0
    count = _notify_all(session, seat_holders(session, project_ids=ids), kind="reminder", now=now)
    logger.info("%d reminders enqueued", count)
    return count


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


def outbox_tick(session: Session, *, now: datetime) -> tuple[int, int]:
    """One run of the outbox job: enqueue due reminders, then dispatch; returns (reminders, sent)."""
    reminders = enqueue_reminders(session, now=now)
    return reminders, dispatch_pending(session, now=now)


def draw_summary(session: Session, *, draw_id: int, project_codes: Iterable[str]) -> dict[str, Any]:
    """Counts only (D5): notifications by status and channel, answers per project, for the given projects."""
    projects = {p.id: p.code for p in session.exec(select(Project).where(col(Project.code).in_(list(project_codes))))}
    rows = session.exec(select(Notification.status, Notification.channel).where(
        Notification.draw_id == draw_id, col(Notification.project_id).in_(list(projects)))).all()
    answers: dict[str, Counter[str]] = {code: Counter() for code in projects.values()}
    for project_id, status in session.exec(select(Rsvp.project_id, Rsvp.status).where(
            Rsvp.draw_id == draw_id, col(Rsvp.project_id).in_(list(projects)))).all():
        answers[projects[project_id]][status] += 1
    return {
        "draw_id": draw_id,
        "by_status": dict(sorted(Counter(st for st, _ in rows).items())),
        "by_channel": dict(sorted(Counter(ch for _, ch in rows).items())),
        "projects": {code: {k: c[k] for k in ("confirmed", "declined", "pending")}
                     for code, c in sorted(answers.items())},
    }
