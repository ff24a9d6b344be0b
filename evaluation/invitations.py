"""Invitations and reminders for drawn seats, written to the notification outbox.

The outbox (notify/) is a foundation that knows nothing of evaluations; this module reads the seats
of a draw, unseals their holders server-side and enqueues one sealed message per seat (rule D5).
Functions flush; the caller commits.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from config.sealing import seal_text, seat_aad, unseal_text
from config.settings import get_settings
from evaluation.models import Draw, Project, Seat
from evaluation.service import DrawNotFound
from experts.models import Expert
from notify.compose import SeatFacts, local_time, message
from notify.links import link_url, rsvp_ref
from notify.models import Channel as ChannelName
from notify.models import Notification, NotificationKind, Rsvp, rsvp_aad
from notify.service import dispatch_pending, enqueue
from venues.geo import region_by_code
from venues.models import Room, Site

logger = logging.getLogger(__name__)


def seat_facts(*, start: datetime, site: Site, room_code: str) -> SeatFacts:
    """The facts of one seat, with the site's city from the reference regions when known."""
    when, offset = local_time(start)
    region = region_by_code(site.region)
    # Sites may gain an address column later; until then the city is the locating fact.
    address = str(getattr(site, "address", "") or "")
    return SeatFacts(when=when, offset=offset, site_name=site.name or site.code,
                     city_zh=region.name_zh if region else "", city_en=region.name_en if region else "",
                     address=address, room=room_code)

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
