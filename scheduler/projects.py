"""Evaluation projects: create, list, read, update while planned, cancel; every change ledgered.

Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import exists, func, or_
from sqlmodel import Session, col, select

import ledger
from experts.models import Organisation
from scheduler import service
from scheduler.draw import resolve_rules
from scheduler.encoder import encode
from scheduler.exceptions import ReplacementError
from scheduler.export import export_instance
from scheduler.instance import parse_instance
from scheduler.models import (
    Draw,
    DrawProject,
    NeedIn,
    Project,
    ProjectAuxSite,
    ProjectBase,
    ProjectBidder,
    ProjectCreate,
    ProjectNeed,
    ProjectSupervisorOrg,
    ProjectUpdate,
    Seat,
)
from scheduler.replan import current_draw, sealed_result
from scheduler.solver.eligibility import individual
from scheduler.solver.problem import Intervals
from venues.models import Site

logger = logging.getLogger(__name__)

# Fields a project keeps once its committee is drawn: they define who may sit and when.
FROZEN_AFTER_DRAW = ("start", "end", "size", "representatives", "needs")


class ProjectDataError(ValueError):
    """Bad project input; `field` names the offending field (answered 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ProjectNotFound(LookupError):
    """No project with that code (answered 404)."""


class ProjectExists(ValueError):
    """A project with that code already exists (answered 409)."""


class ProjectStateError(ValueError):
    """The project's status forbids this change (answered 409); the message gives advice."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _org_ids(session: Session, codes: list[str], field: str) -> list[int]:
    found = dict(session.exec(select(Organisation.code, Organisation.id).where(
        col(Organisation.code).in_(codes))).all()) if codes else {}
    missing = [c for c in codes if c not in found]
    if missing:
        raise ProjectDataError(field, f"unknown organisation codes: {', '.join(missing)}")
    return [int(found[c]) for c in dict.fromkeys(codes)]


def _site_ids(session: Session, codes: list[str], field: str) -> list[int]:
    found = dict(session.exec(select(Site.code, Site.id).where(col(Site.code).in_(codes))).all()) if codes else {}
    missing = [c for c in codes if c not in found]
    if missing:
        raise ProjectDataError(field, f"unknown site codes: {', '.join(missing)}")
    return [int(found[c]) for c in codes]


def _check_needs(needs: list[NeedIn], size: int, representatives: int) -> None:
    if len({n.specialty for n in needs}) != len(needs):
        raise ProjectDataError("needs", "each specialty may appear only once in needs")
    if sum(n.count for n in needs) != size - representatives:
        raise ProjectDataError("needs", f"the needs' counts sum to {sum(n.count for n in needs)}, but size "
                                        f"{size} minus {representatives} representatives is {size - representatives}")


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored from aware UTC values.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _check_times(start: datetime, end: datetime) -> None:
    if _aware(end) <= _aware(start):
        raise ProjectDataError("end", "end must be after start")


def get_project(session: Session, *, code: str) -> Project | None:
    """The project with this code, or None."""
    return session.exec(select(Project).where(Project.code == code)).first()


def require_project(session: Session, *, code: str) -> Project:
    """The project with this code; ProjectNotFound otherwise."""
    project = get_project(session, code=code)
    if project is None:
        raise ProjectNotFound(f"no project with code {code!r}")
    return project


def create_project(session: Session, *, data: ProjectCreate, actor: str = "system") -> Project:
    """Create a planned project from codes (organisations, sites); ledgered as project.create."""
    if get_project(session, code=data.code) is not None:
        raise ProjectExists(f"a project with code {data.code!r} already exists")
    _check_times(data.start, data.end)
    _check_needs(data.needs, data.size, data.representatives)
    tenderer = _org_ids(session, [data.tenderer_code], "tenderer_code")[0]
    agent = _org_ids(session, [data.agent_code], "agent_code")[0] if data.agent_code else None
    bidders = _org_ids(session, data.bidder_codes, "bidder_codes")
    supervisors = _org_ids(session, data.supervisor_org_codes, "supervisor_org_codes")
    main = _site_ids(session, [data.main_site_code], "main_site_code")[0]
    aux = _site_ids(session, data.aux_site_codes or [], "aux_site_codes")
    if main in aux or len(set(aux)) != len(aux):
        raise ProjectDataError("aux_site_codes", "auxiliary sites must be distinct and differ from the main site")
    base = data.model_dump(include=set(ProjectBase.model_fields))
    project = Project(**base, tenderer_id=tenderer, agent_id=agent, main_site_id=main,
                      aux_mode="random" if data.aux_site_codes is None else "fixed", status="planned")
    session.add(project)
    session.flush()
    assert project.id is not None
    session.add_all([ProjectBidder(project_id=project.id, org_id=o) for o in bidders])
    session.add_all([ProjectSupervisorOrg(project_id=project.id, org_id=o) for o in supervisors])
    session.add_all([ProjectAuxSite(project_id=project.id, site_id=s, position=i) for i, s in enumerate(aux)])
    session.add_all([ProjectNeed(project_id=project.id, specialty=n.specialty, count=n.count) for n in data.needs])
    session.flush()
    ledger.append(session, kind="project.create", subject=f"project:{project.code}", actor=actor,
                  payload={"procedure": project.procedure, "start": project.start.isoformat(),
                           "end": project.end.isoformat(), "size": project.size, "main_site": data.main_site_code,
                           "aux_sites": data.aux_site_codes, "needs": [n.model_dump() for n in data.needs],
                           "bidders": len(bidders)})
    logger.info("created project %s", project.code)
    return project


def list_projects(
    session: Session, *, scope: Any = None, start_from: datetime | None = None, start_to: datetime | None = None,
    status: str | None = None, site_code: str | None = None, offset: int = 0, limit: int = 50,
) -> tuple[list[Project], int]:
    """One page of projects ordered by start and code, and the total count, after the filters."""
    conds: list[Any] = []
    if scope is not None:
        conds.append(scope)
    if start_from is not None:
        conds.append(col(Project.start) >= start_from)
    if start_to is not None:
        conds.append(col(Project.start) < start_to)
    if status is not None:
        conds.append(Project.status == status)
    if site_code is not None:
        site = _site_ids(session, [site_code], "site")[0]
        conds.append(or_(
            col(Project.main_site_id) == site,
            exists().where(col(ProjectAuxSite.project_id) == col(Project.id), col(ProjectAuxSite.site_id) == site),
            exists().where(col(Seat.project_id) == col(Project.id), col(Seat.site_id) == site),
        ))
    total = session.exec(select(func.count()).select_from(Project).where(*conds)).one()
    rows = session.exec(select(Project).where(*conds).order_by(col(Project.start), col(Project.code))
                        .offset(offset).limit(limit)).all()
    return list(rows), int(total)


def project_detail(session: Session, *, project: Project) -> dict[str, Any]:
    """The project with its needs, auxiliary sites, bidder count and its draws' sealed summaries (D5)."""
    assert project.id is not None
    site_code = dict(session.exec(select(Site.id, Site.code)).all())
    aux = session.exec(select(ProjectAuxSite).where(ProjectAuxSite.project_id == project.id)
                       .order_by(col(ProjectAuxSite.position))).all()
    needs = session.exec(select(ProjectNeed).where(ProjectNeed.project_id == project.id)
                         .order_by(col(ProjectNeed.id))).all()
    bidders = session.exec(select(func.count()).select_from(ProjectBidder)
                           .where(ProjectBidder.project_id == project.id)).one()
    draws = []
    for dp in session.exec(select(DrawProject).where(DrawProject.project_id == project.id)
                           .order_by(col(DrawProject.draw_id))).all():
        row = session.get(Draw, dp.draw_id)
        summary = json.loads(row.public_summary or "{}").get(project.code) if row else None
        draws.append({"draw_id": dp.draw_id, "status": dp.status, "draw_status": row.status if row else None,
                      "result_sha256": row.result_sha256 if row else None, "aux_sites": dp.aux_sites,
                      "seats_per_site": dp.seat_counts, "summary": summary})
    return {
        **project.model_dump(),
        "main_site_code": site_code.get(project.main_site_id),
        "aux_site_codes": None if project.aux_mode == "random" else [site_code.get(a.site_id) for a in aux],
        "needs": [{"specialty": n.specialty, "count": n.count} for n in needs],
        "bidders_count": int(bidders),
        "draws": draws,
    }


def update_project(session: Session, *, code: str, data: ProjectUpdate, actor: str = "system") -> Project:
    """Apply the fields set in `data`; times, size and needs change only while the project is planned."""
    project = require_project(session, code=code)
    changes = data.model_dump(exclude_unset=True)
    if "status" in changes:
        raise ProjectDataError("status", "the status follows the draw; cancel with POST …/cancel")
    if project.status == "cancelled":
        raise ProjectStateError("status", f"project {code} is cancelled and cannot change")
    frozen = [f for f in FROZEN_AFTER_DRAW if f in changes]
    if frozen and project.status != "planned":
        raise ProjectStateError(frozen[0], f"project {code} is {project.status}: its {', '.join(frozen)} cannot "
                                           "change; cancel it and create a new project, then draw again")
    for field in ("start", "end", "size", "representatives", "needs", "budget"):
        if field in changes and changes[field] is None:
            raise ProjectDataError(field, f"{field} may not be null")
    needs = [NeedIn.model_validate(n) for n in changes.pop("needs", None) or []] or None
    assert project.id is not None
    current = [NeedIn(specialty=n.specialty, count=n.count) for n in session.exec(
        select(ProjectNeed).where(ProjectNeed.project_id == project.id)).all()]
    project.sqlmodel_update(changes)
    _check_times(project.start, project.end)
    _check_needs(needs or current, project.size, project.representatives)
    if needs is not None:
        for row in session.exec(select(ProjectNeed).where(ProjectNeed.project_id == project.id)).all():
            session.delete(row)
        session.flush()
        session.add_all([ProjectNeed(project_id=project.id, specialty=n.specialty, count=n.count) for n in needs])
    session.add(project)
    session.flush()
    payload = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items()}
    if needs is not None:
        payload["needs"] = [n.model_dump() for n in needs]
    ledger.append(session, kind="project.update", subject=f"project:{code}", actor=actor, payload=payload)
    return project


def cancel_project(session: Session, *, code: str, actor: str = "system") -> Project:
    """Cancel a project that has not been evaluated yet; ledgered as project.cancel."""
    project = require_project(session, code=code)
    if project.status in ("evaluating", "done"):
        raise ProjectStateError("status", f"project {code} is {project.status}: an evaluation under way or "
                                          "finished cannot be cancelled")
    if project.status != "cancelled":
        before = project.status
        project.status = "cancelled"
        session.add(project)
        session.flush()
        ledger.append(session, kind="project.cancel", subject=f"project:{code}", actor=actor,
                      payload={"previous_status": before})
    return project


def open_bids(session: Session, *, code: str, bidder_codes: list[str], now: datetime,
              actor: str = "system") -> dict[str, Any]:
    """Store the bidders at bid opening, then replace every drawn expert they conflict with (E3, E4, R1)."""
    project = require_project(session, code=code)
    if project.status in ("cancelled", "done"):
        raise ProjectStateError("status", f"project {code} is {project.status}: its bidders cannot change")
    orgs = _org_ids(session, bidder_codes, "bidder_codes")
    assert project.id is not None
    for row in session.exec(select(ProjectBidder).where(ProjectBidder.project_id == project.id)).all():
        session.delete(row)
    session.flush()
    session.add_all([ProjectBidder(project_id=project.id, org_id=o) for o in orgs])
    session.flush()
    report: dict[str, Any] = {"project": code, "bidders": len(orgs), "draw_id": None, "conflicted": 0,
                              "replaced": 0, "per_site": {}, "unresolved": []}
    draw = current_draw(session, project_id=project.id)
    conflicted = _conflicted(session, draw, code) if draw is not None else []
    ledger.append(session, kind="project.bidders", subject=f"project:{code}", actor=actor, ts=now,
                  payload={"bidders": len(orgs), "conflicted": len(conflicted)})
    # service.replace commits: the bidder list is committed before the first replacement.
    session.commit()
    started = now >= _aware(project.start)
    named: list[dict[str, str]] = []
    for seat in conflicted:
        assert draw is not None and draw.id is not None
        report["draw_id"] = draw.id
        site = report["per_site"].setdefault(seat["site"], {"conflicted": 0, "replaced": 0})
        site["conflicted"] += 1
        report["conflicted"] += 1
        try:
            record = service.replace(session, draw_id=draw.id, project_code=code, expert_code=seat["expert"],
                                     reason="conflict", now=now, actor=actor)
        except ReplacementError as exc:
            session.rollback()
            report["unresolved"].append({"need": seat["need"], "site": seat["site"], "advice": str(exc)
                                         if started else "no legal replacement: widen the pool and redraw"})
            continue
        site["replaced"] += 1
        report["replaced"] += 1
        named.append({k: record[k] for k in ("need", "replaced", "replacement", "site")})
    if started:  # after the start the committee is no longer sealed (D5)
        report["replacements"] = named
    logger.info("bid opening of %s: %d conflicted, %d replaced", code, report["conflicted"], report["replaced"])
    return report


def _conflicted(session: Session, draw: Draw, code: str) -> list[dict[str, str]]:
    """Seats of `code` whose expert now fails E3 or E4, computed by the draw's own eligibility code."""
    result = sealed_result(draw)
    proj = next(q for q in result["projects"] if q["project"] == code)
    doc = export_instance(session, project_codes=[q["project"] for q in result["projects"]],
                          rules=service.deployment_rules().as_json())
    inst = parse_instance(doc)
    problem, ids = encode(inst, resolve_rules(inst, service.deployment_rules()))
    none = np.zeros(0, np.int64)
    elig = individual(problem, problem.projects[ids.projects.index(code)], Intervals(none, none, none))
    bad = elig.fails["E3"] | elig.fails["E4"]
    eidx = {e: i for i, e in enumerate(ids.experts)}
    return [s for s in proj["seats"] if bad[eidx[s["expert"]]]]
