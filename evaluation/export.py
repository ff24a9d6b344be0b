"""Database → `draw-instance/1` document (export), and the normal form an import/export round trip keeps.

The export is a pure function of the database state (and the arguments): every list is sorted
(by code, then by the remaining fields), datetimes are rendered in ISO 8601 at the display offset
(settings.display_utc_offset_hours, default +08:00), so the same state always gives byte-identical
canonical JSON and therefore the same `instance_sha256`.

What is exported:
- every site (with rooms), every organisation, every expert that has at least one specialty (an
  expert without one can never be drawn, and the format requires one) with specialties and leave;
  the experts' relations and penalties; the projects asked for (all projects when None);
- history: the past committees whose start lies in [earliest project start − H days, latest
  project start), H = max(400, familiar_pair_days): E6/E7/P2 look back at most max(30, 365,
  familiar_pair_days) days, so older committees cannot change a draw;
- bookings and room bookings overlapping [earliest start − 1 day, latest end + 1 day) (the E8
  travel buffer is at most one day); a room closed (venues.closures: its own or its site's closure)
  or outside its daily opening hours during a project's window is exported as a room booking of all
  its seats for that part of the window (S4), so the draw seats nobody there. With no project
  exported, history and bookings are not cut.
Organisation regions, site kinds, expert id numbers and notes are not part of the format.

The normal form an import → export round trip keeps, `normalise_instance`, and the windows
above are scheduler.normal_form (re-exported here). The bulk reads (experts, history) are in
evaluation.export_rows; tests/evaluation/test_export.py checks the whole export against a plain
row-by-row rendering of the same tables.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import Session, col

from evaluation import export_rows
from evaluation.commitments import drawn_commitments
from evaluation.export_rows import dt_renderer
from evaluation.importer import ImportReport, import_instance
from evaluation.models import (
    Project,
    ProjectAuxSite,
    ProjectBidder,
    ProjectExclusion,
    ProjectNeed,
    ProjectSupervisorOrg,
)
from experts.models import Booking, Organisation, Penalty, Relation
from scheduler.export_gc import gc_paused
from scheduler.instance import FORMAT
from scheduler.normal_form import Windows, canonical_order, display_tz, history_days, normalise_instance
from venues.closures import unavailable_windows
from venues.models import Room, RoomBooking, Site

__all__ = ["ImportReport", "UnknownProjectError", "export_instance", "import_instance", "normalise_instance"]

logger = logging.getLogger(__name__)


class UnknownProjectError(LookupError):
    """export_instance was asked for project codes that are not in the database."""


def _select(*columns: Any) -> Select[Any]:
    # Untyped on purpose: SQLModel types attributes as their Python values, which select()'s
    # overloads reject.
    return select(*columns)


def _chunks(ids: list[int], size: int = 5000) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _by_parent(session: Session, cols: tuple[Any, ...], parent: Any, ids: list[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(ids):
        for row in session.execute(_select(parent, *cols).where(parent.in_(chunk))):
            out[row[0]].append(tuple(row[1:]))
    return out


def export_instance(
    session: Session, *, project_codes: list[str] | None = None, rules: dict[str, Any] | None = None,
    with_drawn: bool = False,
) -> dict[str, Any]:
    """Build a complete draw-instance/1 document from the database (see the module docstring).

    `with_drawn` adds the committees already drawn for other projects (evaluation.commitments): the
    draw service always asks for them; they name sealed committees.
    """
    with gc_paused():
        return _export(session, project_codes=project_codes, rules=rules, with_drawn=with_drawn)


def _export(
    session: Session, *, project_codes: list[str] | None, rules: dict[str, Any] | None, with_drawn: bool
) -> dict[str, Any]:
    tz = display_tz()
    render = dt_renderer(tz)
    stmt = select(Project)
    if project_codes is not None:
        stmt = stmt.where(col(Project.code).in_(sorted(set(project_codes))))
    # An ORM query first: it flushes pending changes, so the Core reads below see them as before.
    projects = list(session.scalars(stmt))
    if project_codes is not None and len(projects) != len(set(project_codes)):
        missing = sorted(set(project_codes) - {p.code for p in projects})
        raise UnknownProjectError(f"unknown project codes: {', '.join(missing)}")
    win = Windows([(p.start, p.end) for p in projects], history_days(rules))
    conn = session.connection()

    org_code = dict(conn.execute(_select(Organisation.id, Organisation.code)).tuples().all())
    site_code = dict(conn.execute(_select(Site.id, Site.code)).tuples().all())
    room_code = dict(conn.execute(_select(Room.id, Room.code)).tuples().all())
    rooms: dict[int, list[dict[str, Any]]] = defaultdict(list)
    # Only evaluation rooms seat committees: a bid-opening room (openings) is never offered to the draw.
    evaluation_rooms = _select(Room.site_id, Room.code, Room.seats).where(col(Room.purpose) == "evaluation")
    for site_id, code, seats in conn.execute(evaluation_rooms).all():
        rooms[site_id].append({"id": code, "seats": seats})
    sites = [
        {"id": s.code, "name": s.name, "region": s.region, "lat": s.lat, "lon": s.lon,
         "active": s.active, "rooms": rooms.get(s.id, [])}
        for s in conn.execute(_select(Site.id, Site.code, Site.name, Site.region, Site.lat, Site.lon,
                                      Site.active)).all()
    ]
    orgs = [{"id": code, "name": name}
            for code, name in conn.execute(_select(Organisation.code, Organisation.name)).all()]
    experts, expert_code, total = export_rows.experts(conn, org_code)
    if total - len(experts):
        logger.info("export: %d experts without a specialty left out", total - len(experts))

    relations = [
        {"expert": expert_code[eid], "org": org_code[oid], "kind": kind,
         "from": d1 and d1.isoformat(), "to": d2 and d2.isoformat()}
        for eid, oid, kind, d1, d2 in conn.execute(_select(Relation.expert_id, Relation.org_id, Relation.kind,
                                                           Relation.from_date, Relation.to_date)).all()
        if eid in expert_code
    ]
    penalties = [
        {"expert": expert_code[eid], "date": day.isoformat(), "reason": reason}
        for eid, day, reason in conn.execute(_select(Penalty.expert_id, Penalty.date, Penalty.reason)).all()
        if eid in expert_code
    ]
    history = export_rows.history(conn, win, tz, org_code, expert_code)
    bstmt = _select(Booking.expert_id, Booking.start, Booking.end)
    rbstmt = _select(RoomBooking.room_id, RoomBooking.seats, RoomBooking.start, RoomBooking.end)
    if not win.empty:
        bstmt = bstmt.where(col(Booking.start) < win.busy_hi, col(Booking.end) > win.busy_lo)
        rbstmt = rbstmt.where(col(RoomBooking.start) < win.busy_hi, col(RoomBooking.end) > win.busy_lo)
    bookings = [
        {"expert": expert_code[eid], "start": render(start), "end": render(end)}
        for eid, start, end in conn.execute(bstmt).all() if eid in expert_code
    ]
    room_bookings = [
        {"room": room_code[rid], "seats": seats, "start": render(start), "end": render(end)}
        for rid, seats, start, end in conn.execute(rbstmt).all()
    ]
    # Closed rooms and rooms outside their opening hours are fully booked for the draw (S4).
    room_bookings += [
        {"room": room.code, "seats": room.seats, "start": render(s), "end": render(e)}
        for room, (s, e) in unavailable_windows(session, spans=[(p.start, p.end) for p in projects], tz=tz)
        if room.seats > 0
    ]
    if with_drawn and not win.empty:
        drawn_history, drawn_rooms = drawn_commitments(
            session, exclude={p.id for p in projects if p.id is not None}, lo=win.hist_lo, hi=win.busy_hi, tz=tz,
            org_code=org_code, expert_codes=set(expert_code.values()), skip_codes={h["project"] for h in history})
        history += drawn_history
        room_bookings += drawn_rooms
    doc = {
        "format": FORMAT, "rules": dict(rules or {}), "sites": sites, "orgs": orgs, "experts": experts,
        "relations": relations, "penalties": penalties, "history": history, "bookings": bookings,
        "room_bookings": room_bookings,
        "projects": _projects(session, projects, render, org_code, site_code, expert_code),
    }
    return canonical_order(doc)


def _projects(
    session: Session,
    projects: list[Project],
    render: Callable[[datetime], str],
    org_code: dict[int, str],
    site_code: dict[int, str],
    expert_code: dict[int, str],
) -> list[dict[str, Any]]:
    ids = [p.id for p in projects if p.id is not None]
    bidders = _by_parent(session, (ProjectBidder.org_id,), col(ProjectBidder.project_id), ids)
    sups = _by_parent(session, (ProjectSupervisorOrg.org_id,), col(ProjectSupervisorOrg.project_id), ids)
    aux = _by_parent(session, (ProjectAuxSite.position, ProjectAuxSite.site_id),
                     col(ProjectAuxSite.project_id), ids)
    needs = _by_parent(session, (ProjectNeed.specialty, ProjectNeed.count), col(ProjectNeed.project_id), ids)
    excl = _by_parent(session, (ProjectExclusion.expert_id,), col(ProjectExclusion.project_id), ids)
    out = []
    for p in projects:
        assert p.id is not None
        out.append({
            "id": p.code, "name": p.name, "procedure": p.procedure, "budget": float(p.budget),
            "region": p.region, "tenderer": org_code[p.tenderer_id],
            "agent": org_code[p.agent_id] if p.agent_id else None,
            "bidders": [org_code[o] for (o,) in bidders.get(p.id, [])],
            "supervisor_orgs": [org_code[o] for (o,) in sups.get(p.id, [])],
            "start": render(p.start), "end": render(p.end), "size": p.size,
            "representatives": p.representatives, "main_site": site_code[p.main_site_id],
            # Auxiliary sites keep their stated order: it is the coordinator's, not a sort order.
            "aux_sites": None if p.aux_mode == "random" else [site_code[s] for _, s in sorted(aux.get(p.id, []))],
            "needs": [{"specialty": s, "count": n} for s, n in needs.get(p.id, [])],
            "excluded_experts": [expert_code[e] for (e,) in excl.get(p.id, []) if e in expert_code],
        })
    return out
