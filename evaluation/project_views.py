"""HTTP routes of evaluation projects (/api/projects), bid opening and closure re-planning (/api/replan)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import select

from access.deps import Coordinator, IdPath, SessionDep, Staff, deny_out_of_scope
from access.service import Principal
from config import clock
from config.types import IsoDatetime
from evaluation import bids, projects
from evaluation.models import Project, ProjectCreate, ProjectStatus, ProjectUpdate
from evaluation.replan import replan_closure
from evaluation.visibility import (
    may_replan_site,
    project_scope_clause,
    project_visible,
    project_write_clause,
    projects_run_elsewhere,
)
from venues.closures import get_closure
from venues.models import Room, Site

router = APIRouter(prefix="/api/projects", tags=["projects"])
replan_router = APIRouter(prefix="/api/replan", tags=["projects"])


class BiddersRequest(BaseModel):
    """The bidders known at bid opening (开标), by organisation code."""

    bidder_codes: list[str] = Field(max_length=500)


class ClosureRequest(BaseModel):
    """A site (or one of its rooms) closed for a period."""

    site_code: str = Field(min_length=1, max_length=40)
    room_code: str | None = Field(default=None, max_length=40)
    start: IsoDatetime
    end: IsoDatetime


def _not_found(code: str) -> HTTPException:
    return HTTPException(status_code=404, detail=[{"loc": ["code"], "msg": f"no project with code {code!r}"}])


def _readable(request: Request, session: Any, who: Principal, code: str) -> Project:
    """The project when it lies in the caller's scope; else 404 (out of scope ledgered)."""
    project = projects.get_project(session, code=code)
    if project is None:
        raise _not_found(code)
    if not project_visible(session, who, project):
        deny_out_of_scope(session, request, who, f"project:{code}")
        session.commit()
        raise _not_found(code)
    return project


def _writable(request: Request, session: Any, who: Principal, code: str) -> Project:
    """The project when the caller's scope covers its main site; else 404 (ledgered)."""
    project = _readable(request, session, who, code)
    if not who.sees_site(project.main_site_id):
        deny_out_of_scope(session, request, who, f"project:{code} write")
        session.commit()
        raise _not_found(code)
    return project


@router.post("", status_code=201)
def create_project(body: ProjectCreate, request: Request, session: SessionDep, who: Coordinator) -> dict[str, Any]:
    """Create a planned project; the caller's scope must cover its main site."""
    site = session.exec(select(Site).where(Site.code == body.main_site_code)).first()
    if site is not None and not who.sees_site(site.id):
        deny_out_of_scope(session, request, who, f"site:{body.main_site_code}")
        session.commit()
        raise HTTPException(status_code=404, detail=[{"loc": ["main_site_code"],
                                                      "msg": f"unknown site {body.main_site_code!r}"}])
    project = projects.create_project(session, data=body, actor=who.actor)
    session.commit()
    return projects.project_detail(session, project=project)


@router.get("")
def list_projects(
    session: SessionDep, who: Staff,
    start_from: Annotated[IsoDatetime | None, Query(alias="from")] = None,
    start_to: Annotated[IsoDatetime | None, Query(alias="to")] = None,
    status: ProjectStatus | None = None,
    site_code: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Projects in the caller's scope starting in [from, to), optionally of one status or site; paginated."""
    rows, total = projects.list_projects(session, scope=project_scope_clause(who), start_from=start_from,
                                         start_to=start_to, status=status, site_code=site_code, offset=offset,
                                         limit=limit)
    return {"total": total, "offset": offset, "limit": limit, "items": [r.model_dump() for r in rows]}


@router.get("/{code}")
def read_project(code: str, request: Request, session: SessionDep, who: Staff) -> dict[str, Any]:
    """One project with its needs, sites, bidder count and its draws' sealed summaries."""
    return projects.project_detail(session, project=_readable(request, session, who, code))


@router.patch("/{code}")
def update_project(code: str, body: ProjectUpdate, request: Request, session: SessionDep,
                   who: Coordinator) -> dict[str, Any]:
    """Change a project; its time, size and needs only while it is planned (409 with advice after)."""
    _writable(request, session, who, code)
    project = projects.update_project(session, code=code, data=body, actor=who.actor)
    session.commit()
    return projects.project_detail(session, project=project)


@router.post("/{code}/cancel")
def cancel_project(code: str, request: Request, session: SessionDep, who: Coordinator) -> dict[str, Any]:
    """Cancel a project not yet under evaluation."""
    _writable(request, session, who, code)
    project = projects.cancel_project(session, code=code, actor=who.actor)
    session.commit()
    return projects.project_detail(session, project=project)


@router.post("/{code}/bidders")
def open_bids(code: str, body: BiddersRequest, request: Request, session: SessionDep,
              who: Coordinator) -> dict[str, Any]:
    """Record the bidders and replace drawn experts they conflict with (E3, E4); counts only before the start."""
    _writable(request, session, who, code)
    report = bids.open_bids(session, code=code, bidder_codes=body.bidder_codes, now=clock.now(), actor=who.actor)
    session.commit()
    return report


@replan_router.post("")
def replan(body: ClosureRequest, request: Request, session: SessionDep, who: Coordinator) -> dict[str, Any]:
    """Re-plan the drawn projects in the caller's scope that hold seats at a site (or room) closing for a period."""
    site = session.exec(select(Site).where(Site.code == body.site_code)).first()
    if site is not None and not may_replan_site(session, who, site.id):
        deny_out_of_scope(session, request, who, f"site:{body.site_code}")
        session.commit()
        raise HTTPException(status_code=404, detail=[{"loc": ["site_code"], "msg": f"unknown site {body.site_code!r}"}])
    report = replan_closure(session, site_code=body.site_code, room_code=body.room_code, start=body.start,
                            end=body.end, now=clock.now(), scope=project_write_clause(who), actor=who.actor)
    report["other_main_sites"] = projects_run_elsewhere(session, who, report)
    session.commit()
    return report


@replan_router.post("/closures/{closure_id}")
def replan_for_closure(closure_id: IdPath, request: Request, session: SessionDep, who: Coordinator) -> dict[str, Any]:
    """Re-plan the drawn projects affected by a recorded closure (POST /api/closures records one)."""
    closure = get_closure(session, closure_id=closure_id)
    if closure is None or not may_replan_site(session, who, closure.site_id):
        if closure is not None:
            deny_out_of_scope(session, request, who, f"closure:{closure_id}")
        raise HTTPException(status_code=404, detail=[{"loc": ["closure_id"], "msg": "closure not found"}])
    site = session.get(Site, closure.site_id)
    room = session.get(Room, closure.room_id) if closure.room_id is not None else None
    assert site is not None
    report = replan_closure(session, site_code=site.code, room_code=room.code if room else None,
                            start=closure.start, end=closure.end, now=clock.now(), scope=project_write_clause(who),
                            actor=who.actor)
    report["other_main_sites"] = projects_run_elsewhere(session, who, report)
    session.commit()
    return report

