"""`draw-instance/1` document → database (import), upserting by code with bulk statements.

Semantics (re-importing the same document changes nothing and creates no duplicates):
- sites, rooms, organisations, experts, past committees (history) and projects are upserted by
  their code; only the fields the format carries are written (a site's kind, an organisation's
  region, an expert's id number and a project's status are left as they are; new rows get the
  defaults). Rooms are never deleted.
- lists that are a property of one entity are replaced by the document's: an expert's specialties
  and leave, a committee's experts, a project's bidders, supervisor orgs, auxiliary sites and needs.
- top-level records without a code (relations, penalties, bookings, room bookings) and a project's
  excluded experts (E9) are added when missing and never deleted: a file that omits a penalty or
  an exclusion must not lift it.
- the document's `rules` are not stored (rules live in the deployment's configuration); the report
  says so.
Rows are written with `session.execute(insert(Model), rows)` / bulk UPDATE by primary key, so
tens of thousands of experts import in seconds. The caller commits.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session, SQLModel

from config.clock import utcnow
from evaluation.models import (
    Project,
    ProjectAuxSite,
    ProjectBidder,
    ProjectExclusion,
    ProjectNeed,
    ProjectSupervisorOrg,
)
from experts.models import (
    Booking,
    Committee,
    CommitteeMember,
    Expert,
    ExpertSpecialty,
    Leave,
    Organisation,
    Penalty,
    Relation,
)
from scheduler.exceptions import InstanceError
from scheduler.instance import Instance, parse_instance
from venues.models import Room, RoomBooking, Site

logger = logging.getLogger(__name__)
_CHUNK = 5000


@dataclass
class ImportReport:
    """What an import wrote, per table: rows created, updated and deleted."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """Total rows written; 0 when the database already held the document."""
        return sum(self.created.values()) + sum(self.updated.values()) + sum(self.deleted.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"created": dict(self.created), "updated": dict(self.updated),
                "deleted": dict(self.deleted), "notes": list(self.notes)}


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _table(model: type[SQLModel]) -> str:
    return str(model.__tablename__)


def _rows_where_in(session: Session, stmt: Any, column: Any, values: list[Any]) -> list[Any]:
    """Rows of `stmt` whose `column` is in `values` (a large set reads the table: fewer round trips)."""
    if len(values) > _CHUNK:
        wanted = set(values)
        position = [c.key for c in stmt.selected_columns].index(column.key)
        return [row for row in session.execute(stmt) if row[position] in wanted]
    return list(session.execute(stmt.where(column.in_(values)))) if values else []


def _bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    table = model.__table__
    conn = session.connection()
    names = list(rows[0])
    if conn.dialect.name == "postgresql" and all(r.keys() == rows[0].keys() for r in rows):
        # COPY is an order of magnitude faster than INSERTs through psycopg; every row carries
        # every NOT NULL column (defaults are merged in by the callers), ids come from the sequence.
        cols = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
        target = conn.dialect.identifier_preparer.format_table(table)
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([r[n] for n in names])
        return
    # RETURNING makes SQLAlchemy batch rows into multi-row INSERTs ("insertmanyvalues").
    session.execute(insert(table).returning(table.c.id), rows).all()


def _upsert(
    session: Session, model: Any, rows: list[dict[str, Any]], report: ImportReport, defaults: dict[str, Any]
) -> dict[str, int]:
    """Insert or update rows keyed by `code`; return code → id for every row."""
    if not rows:
        return {}
    fields = list(rows[0])
    stmt = select(model.id, *(getattr(model, f) for f in fields))
    existing = {row.code: row for row in _rows_where_in(session, stmt, model.code, [r["code"] for r in rows])}
    inserts, updates = [], []
    for r in rows:
        old = existing.get(r["code"])
        if old is None:
            inserts.append({**defaults, **r})
            continue
        diff = {k: v for k, v in r.items() if getattr(old, k) != v}
        if diff:
            updates.append({"id": old.id, **diff})
    name = _table(model)
    if inserts:
        _bulk_insert(session, model, inserts)
        report.created[name] += len(inserts)
    if updates:
        session.execute(update(model), updates)
        report.updated[name] += len(updates)
    ids = {code: row.id for code, row in existing.items()}
    if inserts:
        stmt = select(model.code, model.id)
        ids.update((r[0], r[1]) for r in _rows_where_in(session, stmt, model.code, [r["code"] for r in inserts]))
    return ids


def _sync(
    session: Session,
    model: Any,
    parent: str,
    keys: tuple[str, ...],
    desired: dict[int, list[tuple[Any, ...]]],
    report: ImportReport,
    *,
    replace: bool,
    extra: dict[str, Any] | None = None,
) -> None:
    """Make the child rows of each parent in `desired` hold those key tuples (as a multiset).

    With replace=False rows are only added, never deleted.
    """
    pcol = getattr(model, parent)
    have: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    stmt = select(model.id, pcol, *(getattr(model, k) for k in keys))
    for row in _rows_where_in(session, stmt, pcol, list(desired)):
        have[tuple(row[1:])].append(row[0])
    want = Counter((pid, *k) for pid, ks in desired.items() for k in ks)
    names = (parent, *keys)
    rows: list[dict[str, Any]] = []
    for key, n in want.items():
        for _ in range(n - len(have.get(key, ()))):
            rows.append({**(extra or {}), **dict(zip(names, key, strict=True))})
    doomed = [i for key, ids in have.items() for i in ids[want.get(key, 0):]] if replace else []
    name = _table(model)
    if doomed:
        for chunk in _chunks(doomed):
            session.execute(delete(model).where(model.id.in_(chunk)))
        report.deleted[name] += len(doomed)
    if rows:
        _bulk_insert(session, model, rows)
        report.created[name] += len(rows)


_LIMITS = (("sites", "id", 32), ("sites", "name", 200), ("orgs", "id", 40), ("orgs", "name", 300),
           ("experts", "id", 40), ("experts", "name", 100), ("history", "project", 60),
           ("projects", "id", 60), ("projects", "name", 300), ("penalties", "reason", 1000))


def _check(inst: Instance) -> None:
    # The column widths bind on PostgreSQL; report an over-long value by its JSON path instead.
    for key, attr, limit in _LIMITS:
        for i, item in enumerate(getattr(inst, key)):
            if len(getattr(item, attr) or "") > limit:
                raise InstanceError(f"$.{key}[{i}].{attr}", f"longer than {limit} characters")
    for i, s in enumerate(inst.sites):
        for j, r in enumerate(s.rooms):
            if len(r.id) > 40:
                raise InstanceError(f"$.sites[{i}].rooms[{j}].id", "longer than 40 characters")
    seen: set[str] = set()
    for i, h in enumerate(inst.history):
        if h.project in seen:
            raise InstanceError(f"$.history[{i}].project", f"duplicate history project {h.project!r}")
        seen.add(h.project)


def import_instance(session: Session, doc: dict[str, Any]) -> ImportReport:
    """Validate `doc` (parse_instance) and upsert it into the database; see the module docstring."""
    inst = parse_instance(doc)
    _check(inst)
    rep = ImportReport()
    if inst.rules:
        rep.notes.append("the document's rules were not stored; pass them to export_instance(rules=...)")
    org = _upsert(session, Organisation, [{"code": o.id, "name": o.name} for o in inst.orgs], rep, {})
    site = _upsert(session, Site, [
        {"code": s.id, "name": s.name, "region": s.region, "lat": s.lat, "lon": s.lon, "active": s.active}
        for s in inst.sites], rep, {"kind": "centre"})
    room = _upsert(session, Room, [
        {"code": r.id, "seats": r.seats, "site_id": site[s.id]} for s in inst.sites for r in s.rooms], rep, {})
    expert = _upsert(session, Expert, [
        {"code": e.id, "name": e.name, "birth_date": e.birth_date, "region": e.region, "lat": e.lat,
         "lon": e.lon, "employer_id": org[e.employer] if e.employer else None, "status": e.status}
        for e in inst.experts], rep, {"id_number": None})
    _sync(session, ExpertSpecialty, "expert_id", ("code",),
          {expert[e.id]: [(c,) for c in set(e.specialties)] for e in inst.experts}, rep, replace=True)
    _sync(session, Leave, "expert_id", ("from_date", "to_date"),
          {expert[e.id]: [(lv.from_, lv.to) for lv in e.leave] for e in inst.experts}, rep, replace=True)
    _grouped_add(session, Relation, "expert_id", ("org_id", "kind", "from_date", "to_date"), rep,
                 ((expert[r.expert], (org[r.org], r.kind, r.from_, r.to)) for r in inst.relations))
    _grouped_add(session, Penalty, "expert_id", ("date", "reason"), rep,
                 ((expert[p.expert], (p.date, p.reason)) for p in inst.penalties))
    _grouped_add(session, Booking, "expert_id", ("start", "end"), rep,
                 ((expert[b.expert], (b.start, b.end)) for b in inst.bookings), extra={"note": ""})
    _grouped_add(session, RoomBooking, "room_id", ("seats", "start", "end"), rep,
                 ((room[b.room], (b.seats, b.start, b.end)) for b in inst.room_bookings), extra={"note": ""})
    committee = _upsert(session, Committee, [
        {"code": h.project, "tenderer_id": org[h.tenderer] if h.tenderer else None, "start": h.start,
         "end": h.end} for h in inst.history], rep, {})
    _sync(session, CommitteeMember, "committee_id", ("expert_id",),
          {committee[h.project]: [(expert[x],) for x in set(h.experts)] for h in inst.history}, rep, replace=True)
    _import_projects(session, inst, rep, org=org, site=site, expert=expert)
    session.expire_all()  # bulk UPDATEs bypass the identity map
    logger.info("instance imported: %d rows created, %d updated, %d deleted", sum(rep.created.values()),
                sum(rep.updated.values()), sum(rep.deleted.values()))
    return rep


def _grouped_add(
    session: Session, model: Any, parent: str, keys: tuple[str, ...], rep: ImportReport,
    pairs: Iterable[tuple[int, tuple[Any, ...]]], extra: dict[str, Any] | None = None,
) -> None:
    desired: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for pid, key in pairs:
        desired[pid].append(key)
    _sync(session, model, parent, keys, desired, rep, replace=False, extra=extra)


def _import_projects(
    session: Session, inst: Instance, rep: ImportReport, *,
    org: dict[str, int], site: dict[str, int], expert: dict[str, int],
) -> None:
    project = _upsert(session, Project, [
        {"code": p.id, "name": p.name, "procedure": p.procedure, "budget": p.budget, "region": p.region,
         "tenderer_id": org[p.tenderer], "agent_id": org[p.agent] if p.agent else None,
         "main_site_id": site[p.main_site], "aux_mode": "random" if p.aux_sites is None else "fixed",
         "start": p.start, "end": p.end, "size": p.size, "representatives": p.representatives}
        for p in inst.projects], rep, {"status": "planned"})
    ps = inst.projects
    _sync(session, ProjectBidder, "project_id", ("org_id",),
          {project[p.id]: [(org[o],) for o in set(p.bidders)] for p in ps}, rep, replace=True)
    _sync(session, ProjectSupervisorOrg, "project_id", ("org_id",),
          {project[p.id]: [(org[o],) for o in set(p.supervisor_orgs)] for p in ps}, rep, replace=True)
    _sync(session, ProjectAuxSite, "project_id", ("position", "site_id"),
          {project[p.id]: list(enumerate(site[s] for s in p.aux_sites or [])) for p in ps}, rep, replace=True)
    _sync(session, ProjectNeed, "project_id", ("specialty", "count"),
          {project[p.id]: [(n.specialty, n.count) for n in p.needs] for p in ps}, rep, replace=True)
    _sync(session, ProjectExclusion, "project_id", ("expert_id",),
          {project[p.id]: [(expert[x],) for x in set(p.excluded_experts)] for p in ps}, rep,
          replace=False, extra={"reason": "imported", "at": utcnow()})
