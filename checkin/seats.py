"""Who holds which seat in a room, unsealed server-side only; the day's projects of a room and their counts.

The sealed seat list is decrypted here and nowhere near the terminal: answers before the start
carry counts only (D5); names appear once the project's committee is unsealed at its start.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from checkin.models import Checkin, EvaluationReport, Signoff
from config.clock import as_aware
from config.sealing import seat_aad, unseal_text
from config.settings import get_settings
from evaluation import service as draw_service
from evaluation.models import Project, Seat
from evaluation.statistics import local_day_bounds, local_zone
from experts.models import Expert
from venues.models import Room, Site

LIVE_STATUSES = ("drawn", "evaluating", "done")


@dataclass(frozen=True)
class SeatHeld:
    """A seat of a project in a room and the code of the expert holding it (server-side only)."""

    project: Project
    seat: Seat
    expert_code: str


def window(project: Project) -> tuple[datetime, datetime]:
    """[opens, deadline] of check-in for a project: start − open minutes to start + grace minutes (no-shows)."""
    s = get_settings()
    start = as_aware(project.start)
    return start - timedelta(minutes=s.checkin_open_minutes), start + timedelta(minutes=s.checkin_grace_minutes)


def phase(project: Project, now: datetime) -> str:
    """upcoming, checkin (window open, before the start), evaluating (started) or ended."""
    opens, _ = window(project)
    if now < opens:
        return "upcoming"
    if now < as_aware(project.start):
        return "checkin"
    return "evaluating" if now <= as_aware(project.end) else "ended"


def seats_in_room(session: Session, *, room: Room, projects: list[Project]) -> list[SeatHeld]:
    """The seats of `projects` in `room`, each with its holder unsealed."""
    by_id = {p.id: p for p in projects}
    if not by_id:
        return []
    rows = session.exec(select(Seat).where(Seat.room_id == room.id, col(Seat.project_id).in_(list(by_id)))
                        .order_by(col(Seat.id))).all()
    return [SeatHeld(project=by_id[s.project_id], seat=s, expert_code=unseal_text(
        s.expert_sealed, aad=seat_aad(s.draw_id, by_id[s.project_id].code, s.need, room.code))) for s in rows]


def projects_in_room(session: Session, *, room_id: int, start: datetime, end: datetime) -> list[Project]:
    """Live projects holding seats in the room and starting in [start, end]."""
    ids = select(Seat.project_id).where(Seat.room_id == room_id)
    return list(session.exec(select(Project).where(col(Project.id).in_(ids), col(Project.status).in_(LIVE_STATUSES),
                                                   col(Project.start) >= start, col(Project.start) <= end)
                             .order_by(col(Project.start), col(Project.code))).all())


def open_for_checkin(session: Session, *, room: Room, now: datetime) -> list[SeatHeld]:
    """The room's seats of projects open for check-in now: from `checkin_open_minutes` before the start to the end.

    The deadline (start + grace) is when no-shows are replaced, not when check-in closes: a seat holder
    still holding the seat after it, such as a replacement drawn at the deadline, checks in until the end.
    """
    s = get_settings()
    assert room.id is not None
    projects = projects_in_room(session, room_id=room.id, start=now - timedelta(days=2),
                                end=now + timedelta(minutes=s.checkin_open_minutes))
    return seats_in_room(session, room=room, projects=[p for p in projects if now <= as_aware(p.end)])


def current_report(session: Session, project_id: int) -> EvaluationReport | None:
    """The latest version of the project's evaluation report."""
    return session.exec(select(EvaluationReport).where(EvaluationReport.project_id == project_id)
                        .order_by(col(EvaluationReport.version).desc())).first()


def _unsealed(session: Session, project: Project, now: datetime) -> bool:
    # The committee shows once the project has started and its draw has been unsealed for it (D5).
    if as_aware(project.start) > now:
        return False
    draw_ids = set(session.exec(select(Seat.draw_id).where(Seat.project_id == project.id)).all())
    return any(project.code in draw_service.unsealed_projects(session, draw_id=d) for d in draw_ids)


def _project_entry(session: Session, project: Project, seats: list[SeatHeld], room: Room, now: datetime,
                   with_names: bool) -> dict[str, Any]:
    assert project.id is not None
    holders = {h.expert_code for h in seats}
    experts = {e.id: e for e in session.exec(select(Expert).where(col(Expert.code).in_(holders))).all()}
    rows = session.exec(select(Checkin).where(Checkin.project_id == project.id, Checkin.room_id == room.id)
                        .order_by(col(Checkin.at))).all()
    here = [c for c in rows if c.expert_id in experts]
    report = current_report(session, project.id)
    signed = 0
    if report is not None:
        signers = session.exec(select(Signoff.expert_id).where(Signoff.report_id == report.id)).all()
        signed = sum(1 for e in signers if e in experts)
    checkins = []
    if with_names and _unsealed(session, project, now):
        checkins = [{"expert_code": experts[c.expert_id].code, "expert_name": experts[c.expert_id].name,
                     "at": as_aware(c.at), "method": c.method, "by": c.by, "reason": c.reason} for c in here]
    return {"code": project.code, "start": as_aware(project.start), "end": as_aware(project.end),
            "phase": phase(project, now), "seats": len(seats), "checked_in": len(here),
            "report_sha256": report.sha256 if report else None, "signed_off": signed, "checkins": checkins}


def room_status(session: Session, *, room_id: int, now: datetime, with_names: bool = True) -> dict[str, Any]:
    """The room's projects of the local day (and any still evaluating) with seat, check-in and sign-off counts."""
    room = session.get(Room, room_id)
    assert room is not None and room.id is not None
    site = session.get(Site, room.site_id)
    day_start, day_end = local_day_bounds(now.astimezone(local_zone()).date())
    projects = projects_in_room(session, room_id=room.id, start=day_start - timedelta(days=1), end=day_end)
    projects = [p for p in projects if as_aware(p.start) >= day_start or as_aware(p.end) >= now]
    held = seats_in_room(session, room=room, projects=projects)
    per_project: dict[int | None, list[SeatHeld]] = {}
    for h in held:
        per_project.setdefault(h.project.id, []).append(h)
    return {"room_code": room.code, "room_name": room.code, "site_code": site.code if site else "",
            "site_name": site.name if site else "", "now": now,
            "projects": [_project_entry(session, p, per_project.get(p.id, []), room, now, with_names)
                         for p in projects]}


def terminal_info(session: Session, *, room_id: int, now: datetime) -> dict[str, Any]:
    """What a room's terminal shows: the room and its projects of the day, counts only (no names)."""
    out = room_status(session, room_id=room_id, now=now, with_names=False)
    for p in out["projects"]:
        p.pop("checkins", None)
    return out


def seat_counts(session: Session, *, project_id: int) -> Counter[int]:
    """Seats of a project per room id."""
    return Counter(session.exec(select(Seat.room_id).where(Seat.project_id == project_id)).all())
