"""Evaluation projects: create, list, read, update while planned, cancel; every change ledgered.

Lookups by code and the project errors are evaluation.project_refs, the bid-opening re-check
(`open_bids`) evaluation.bids; both are re-exported here, where the views and pages find them.

Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

import ledger
from config.clock import as_aware
from evaluation.bids import open_bids
from evaluation.models import (
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
)
from evaluation.project_refs import (
    ProjectDataError,
    ProjectExists,
    ProjectNotFound,
    ProjectStateError,
    get_project,
    org_ids,
    require_project,
    site_ids,
)
from evaluation.scope import projects_at_sites
from venues.models import Site

__all__ = [
    "FROZEN_AFTER_DRAW", "ProjectDataError", "ProjectExists", "ProjectNotFound", "ProjectStateError",
    "cancel_project", "create_project", "get_project", "list_projects", "open_bids", "project_detail",
    "require_project", "update_project",
]

logger = logging.getLogger(__name__)

# Fields a project keeps once its committee is drawn: they define who may sit and when.
FROZEN_AFTER_DRAW = ("start", "end", "size", "representatives", "needs")


def _check_needs(needs: list[NeedIn], size: int, representatives: int) -> None:
    if len({n.specialty for n in needs}) != len(needs):
        raise ProjectDataError("needs", "each specialty may appear only once in needs")
    if sum(n.count for n in needs) != size - representatives:
        raise ProjectDataError("needs", f"the needs' counts sum to {sum(n.count for n in needs)}, but size "
                                        f"{size} minus {representatives} representatives is {size - representatives}")


def _check_times(start: datetime, end: datetime) -> None:
    if as_aware(end) <= as_aware(start):
        raise ProjectDataError("end", "end must be after start")


def create_project(session: Session, *, data: ProjectCreate, actor: str = "system") -> Project:
    """Create a planned project from codes (organisations, sites); ledgered as project.create."""
    if get_project(session, code=data.code) is not None:
        raise ProjectExists(f"a project with code {data.code!r} already exists")
    _check_times(data.start, data.end)
    _check_needs(data.needs, data.size, data.representatives)
    tenderer = org_ids(session, [data.tenderer_code], "tenderer_code")[0]
    agent = org_ids(session, [data.agent_code], "agent_code")[0] if data.agent_code else None
    bidders = org_ids(session, data.bidder_codes, "bidder_codes")
    supervisors = org_ids(session, data.supervisor_org_codes, "supervisor_org_codes")
    main = site_ids(session, [data.main_site_code], "main_site_code")[0]
    aux = site_ids(session, data.aux_site_codes or [], "aux_site_codes")
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
        site = site_ids(session, [site_code], "site")[0]
        conds.append(projects_at_sites([site]))
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
