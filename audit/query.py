"""Ledger search in the caller's site scope, and the slice of the ledger that concerns one project.

How a subject maps to sites (the scope rule for users who are not centre-wide):
- `site:<code>` is that site; `room:<code>` the room's site; `closure:<id>` the closure's site;
- `project:<code>` every site the project lies at (main, fixed auxiliary, drawn seats: evaluation.visibility);
- `draw:<id>` is visible when any of its projects is (as `GET /api/draws/{id}` is), and so are the
  `notification:<id>` and `rsvp:<ref>` entries of a visible project;
- `user:<name>` entries, and `auth.*` entries whose actor is `user:<name>`, are visible for the caller
  and for site-scoped users all of whose sites lie in the caller's scope;
- everything else (`expert:<code>` and the pool, `user:?…` probes, centre-wide users, `system`
  jobs without such a subject) is for centre-wide users only.
Admins and centre-wide users (`all_sites`) see every entry.

A project filter keeps the entries about the project, its draws, notifications and RSVPs (at any
time) and the entries of the rooms where it holds seats between check-in opening
(start − checkin_open_minutes) and end + audit_room_after_minutes: recordings (`av.segment`),
views, alerts, check-in attempts. A caller who may read the project sees that whole slice, also the
rooms at its sites outside their own scope. A site filter keeps the site, its rooms and closures
and the projects at it with their draws; a room filter keeps the room's entries.

Payloads are shown as stored: they are public audit facts by construction (the writers keep sealed
committees out of them: check-ins name keyed references, replacements seed-salted ones, D5).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, literal, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

import ledger
from access.models import User, UserSite
from access.service import Principal
from config.clock import as_aware
from config.settings import get_settings
from evaluation.models import Draw, DrawProject, Project, Seat
from evaluation.scope import projects_at_sites
from evaluation.visibility import project_visible
from ledger.models import LedgerEntry, parse_ts
from notify.models import Notification
from venues.models import Closure, Room, Site

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass(frozen=True)
class LedgerQuery:
    """The filters of a ledger search; None means not filtered."""

    project: str | None = None
    site: str | None = None
    room: str | None = None
    actor: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = 0
    limit: int = DEFAULT_LIMIT

    def filters(self) -> dict[str, Any]:
        """The filters given, as JSON values: what `audit.view` records (never the results)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name == "after_seq" and value == 0) or f.name == "limit":
                continue
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out


class OutOfScope(LookupError):
    """A filter names something unknown or outside the caller's scope (both answer alike: 404)."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} unknown or out of scope")
        self.field = field
        self.value = value


@dataclass(frozen=True)
class Row:
    """One ledger entry as stored: `ts` is the exact hashed text (read as text, so an edited row still shows)."""

    seq: int
    ts: str
    actor: str
    kind: str
    subject: str
    payload: str
    prev_hash: str
    hash: str

    @property
    def when(self) -> datetime | None:
        """The timestamp, or None when the stored text is not one (an edited row)."""
        try:
            return parse_ts(self.ts)
        except ValueError:
            return None


# The columns of a Row, the timestamp as its stored text.
ROW_COLUMNS = (col(LedgerEntry.seq), type_coerce(col(LedgerEntry.ts), String()).label("ts"), col(LedgerEntry.actor),
               col(LedgerEntry.kind), col(LedgerEntry.subject), col(LedgerEntry.payload), col(LedgerEntry.prev_hash),
               col(LedgerEntry.hash))


@dataclass(frozen=True)
class LedgerPage:
    """One page of entries in seq order; `next_after_seq` continues it (None on the last page)."""

    entries: list[Row]
    next_after_seq: int | None


def _prefixed(prefix: str, column: Any) -> Any:
    """SQL text `prefix || column` (a ledger subject built from a row)."""
    return literal(prefix, String) + cast(column, String)


def _project_subject_selects(project_ids: Any) -> list[Any]:
    """Selects of the subjects that belong to the projects whose ids `project_ids` selects."""
    return [
        select(_prefixed("project:", Project.code)).where(col(Project.id).in_(project_ids)),
        select(_prefixed("draw:", DrawProject.draw_id)).where(col(DrawProject.project_id).in_(project_ids)),
        select(_prefixed("notification:", Notification.id)).where(col(Notification.project_id).in_(project_ids)),
        select(_prefixed("rsvp:", Notification.rsvp_ref)).where(col(Notification.project_id).in_(project_ids),
                                                                 col(Notification.rsvp_ref).is_not(None)),
    ]


def _committed_draws(session: Session, codes: set[str] | None, project_ids: Any) -> set[str]:
    """`draw:<id>` of committed (not yet run) draws naming a project in `codes` or selected by `project_ids`.

    Such a draw has no DrawProject rows yet; its projects are only in its JSON list.
    """
    rows = session.exec(select(Draw.id, Draw.project_codes).where(Draw.status == "committed")).all()
    if not rows:
        return set()
    wanted = set(codes or ())
    if project_ids is not None:
        wanted |= set(session.exec(select(Project.code).where(col(Project.id).in_(project_ids))).all())
    return {f"draw:{i}" for i, pc in rows if wanted & set(pc or ())}


def _visible_actors(session: Session, who: Principal) -> list[str]:
    """`user:<name>` of the caller and of site-scoped users whose sites all lie in the caller's scope."""
    sites: dict[int, set[int]] = defaultdict(set)
    for member, sid in session.exec(select(UserSite.user_id, UserSite.site_id)).all():
        sites[member].add(sid)
    out = {who.actor}
    for uid, name, all_sites in session.exec(select(User.id, User.username, User.all_sites)).all():
        mine = sites.get(uid or -1, set())
        if not all_sites and mine and mine <= who.site_ids:
            out.add(f"user:{name}")
    return sorted(out)


def scope_clause(session: Session, who: Principal) -> Any | None:
    """A WHERE clause on LedgerEntry keeping the entries in `who`'s scope; None when unlimited."""
    if who.all_sites:
        return None
    site_ids = list(who.site_ids)
    project_ids = select(Project.id).where(projects_at_sites(site_ids))
    subject = col(LedgerEntry.subject)
    selects = [
        select(_prefixed("site:", Site.code)).where(col(Site.id).in_(site_ids)),
        select(_prefixed("room:", Room.code)).where(col(Room.site_id).in_(site_ids)),
        select(_prefixed("closure:", Closure.id)).where(col(Closure.site_id).in_(site_ids)),
        *_project_subject_selects(project_ids),
    ]
    actors = _visible_actors(session, who)
    extra = _committed_draws(session, None, project_ids) | {a for a in actors}
    return or_(*[subject.in_(s) for s in selects], subject.in_(sorted(extra)),
               and_(col(LedgerEntry.kind).startswith("auth."), col(LedgerEntry.actor).in_(actors)))


def room_window(project: Project) -> tuple[datetime, datetime]:
    """The time during which a project's rooms' entries belong to it (see the module docstring)."""
    s = get_settings()
    return (as_aware(project.start) - timedelta(minutes=s.checkin_open_minutes),
            as_aware(project.end) + timedelta(minutes=s.audit_room_after_minutes))


def project_clause(session: Session, project: Project) -> Any:
    """A WHERE clause on LedgerEntry keeping the project's slice of the ledger (module docstring)."""
    ids = [project.id]
    subject = col(LedgerEntry.subject)
    rooms = (select(_prefixed("room:", Room.code)).join(Seat, col(Seat.room_id) == col(Room.id))
             .where(col(Seat.project_id) == project.id))
    lo, hi = room_window(project)
    return or_(*[subject.in_(s) for s in _project_subject_selects(ids)],
               subject.in_(sorted(_committed_draws(session, {project.code}, None) | {f"project:{project.code}"})),
               and_(subject.in_(rooms), col(LedgerEntry.ts) >= lo, col(LedgerEntry.ts) <= hi))


def site_clause(session: Session, site: Site) -> Any:
    """A WHERE clause on LedgerEntry keeping the entries of a site, its rooms, closures and projects."""
    sites: list[int] = [site.id] if site.id is not None else []
    project_ids = select(Project.id).where(projects_at_sites(sites))
    subject = col(LedgerEntry.subject)
    selects = [
        select(_prefixed("room:", Room.code)).where(col(Room.site_id) == site.id),
        select(_prefixed("closure:", Closure.id)).where(col(Closure.site_id) == site.id),
        *_project_subject_selects(project_ids),
    ]
    extra = _committed_draws(session, None, project_ids) | {f"site:{site.code}"}
    return or_(*[subject.in_(s) for s in selects], subject.in_(sorted(extra)))


def find_project(session: Session, who: Principal, code: str) -> Project:
    """The project `code` when `who` may read it, else OutOfScope."""
    project = session.exec(select(Project).where(Project.code == code)).first()
    if project is None or not project_visible(session, who, project):
        raise OutOfScope("project", code)
    return project


def conditions(session: Session, who: Principal, query: LedgerQuery) -> list[Any]:
    """The WHERE clauses of a search (scope included); OutOfScope for a filter the caller may not use."""
    out: list[Any] = [col(LedgerEntry.seq) > query.after_seq]
    narrowed = False
    if query.project is not None:
        out.append(project_clause(session, find_project(session, who, query.project)))
        narrowed = True
    if query.site is not None:
        site = session.exec(select(Site).where(Site.code == query.site)).first()
        if site is None or not who.sees_site(site.id):
            raise OutOfScope("site", query.site)
        out.append(site_clause(session, site))
        narrowed = True
    if query.room is not None:
        room = session.exec(select(Room).where(Room.code == query.room)).first()
        if room is None or not who.sees_site(room.site_id):
            raise OutOfScope("room", query.room)
        out.append(col(LedgerEntry.subject) == f"room:{room.code}")
        narrowed = True
    if not narrowed:
        scope = scope_clause(session, who)
        if scope is not None:
            out.append(scope)
    if query.actor:
        # "alice" finds "user:alice"; "system", "cli", "anonymous" and "user:alice" match as written.
        out.append(col(LedgerEntry.actor).in_([query.actor, f"user:{query.actor}"]))
    if query.kind:
        out.append(col(LedgerEntry.kind).startswith(query.kind, autoescape=True))
    if query.since is not None:
        out.append(col(LedgerEntry.ts) >= query.since)
    if query.until is not None:
        out.append(col(LedgerEntry.ts) < query.until)
    return out


def search(session: Session, *, who: Principal, query: LedgerQuery) -> LedgerPage:
    """One page of the entries matching `query` in `who`'s scope (OutOfScope for a forbidden filter)."""
    limit = max(1, min(query.limit, MAX_LIMIT))
    stmt = (sa_select(*ROW_COLUMNS).where(*conditions(session, who, query))
            .order_by(col(LedgerEntry.seq)).limit(limit + 1))
    rows = [Row(*r) for r in session.execute(stmt).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return LedgerPage(entries=rows, next_after_seq=rows[-1].seq if more else None)


def record_view(session: Session, *, who: Principal, query: LedgerQuery, via: str) -> None:
    """Ledger one search: who, through what (api or page) and the filters (caller commits)."""
    ledger.append(session, kind="audit.view", subject=f"user:{who.username}", actor=who.actor,
                  payload={"via": via, "filters": query.filters()})


def entry_dict(entry: Row) -> dict[str, Any]:
    """An entry as published: the payload parsed, `ts` as the exact hashed text."""
    try:
        payload: Any = json.loads(entry.payload)
    except ValueError:  # an edited row: show what is stored, verification reports it
        payload = entry.payload
    return {"seq": entry.seq, "ts": entry.ts, "actor": entry.actor, "kind": entry.kind,
            "subject": entry.subject, "payload": payload, "prev_hash": entry.prev_hash, "hash": entry.hash}
