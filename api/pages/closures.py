"""Closures of sites and rooms: list, create, re-plan the drawn projects they affect, reopen (delete)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from access.deps import IdPath, SessionDep
from access.service import Principal
from api.pages.common import COORDINATORS, console_user, error_page, explain, hide, render
from api.pages.forms import FormError, local_datetime, validation_field, write_target, writer
from config import clock
from evaluation.replan import ReplanInputError, replan_closure
from evaluation.visibility import (
    may_replan_site,
    project_write_clause,
    projects_run_elsewhere,
    seat_sites_of_own_projects,
)
from venues import closures as closure_service
from venues.exceptions import VenueError
from venues.models import Closure, ClosureCreate, Room, Site

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=500)]


def _page(request: Request, session: Session, who: Principal, *, error: str | None = None,
          values: dict[str, Any] | None = None, report: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    sites = [s for s in session.exec(select(Site).order_by(col(Site.code))).all() if who.sees_site(s.id)]
    own = {s.id for s in sites if s.id is not None}
    # Closures of other sites where this centre's projects hold seats: its coordinators re-plan those.
    seated = seat_sites_of_own_projects(session, who) - own if who.role in COORDINATORS else set()
    rows = closure_service.list_closures(session, site_ids=own | seated)
    rooms = list(session.exec(select(Room).where(col(Room.site_id).in_([s.id for s in sites]))
                              .order_by(col(Room.code))).all())
    return render(request, "closures.html", {
        "closures": [closure_service.public(session, c) for c in rows], "sites": sites,
        "rooms": [(r, next(s.code for s in sites if s.id == r.site_id)) for r in rooms],
        "may_write": who.role in COORDINATORS, "own_sites": {s.code for s in sites}, "error": error,
        "v": values or {}, "report": report,
    }, who=who, status_code=status_code)


@router.get("/closures")
def closures_page(request: Request, session: SessionDep) -> Response:
    """The closures of the sites in the user's scope, and the form to record one."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    return _page(request, session, who)


@router.post("/closures")
def create_closure(request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
                   site_code: Text = "", room_code: Text = "", start: Text = "", end: Text = "",
                   reason: Text = "") -> Response:
    """Record a closure of a site in the user's scope (or one of its rooms); bad input is shown (422)."""
    who = writer(request, session, csrf_token, COORDINATORS)
    if isinstance(who, Response):
        return who
    values = {"site_code": site_code, "room_code": room_code, "start": start, "end": end, "reason": reason}
    site = session.exec(select(Site).where(Site.code == site_code)).first()
    if site is not None and not who.sees_site(site.id):
        return hide(request, session, who, f"site:{site_code}")
    try:
        data = ClosureCreate.model_validate({
            "site_code": site_code, "room_code": room_code.strip() or None, "reason": reason.strip(),
            "start": local_datetime(start, "start"), "end": local_datetime(end, "end")})
        closure_service.create_closure(session, data=data, actor=who.actor)
    except ValidationError as exc:
        session.rollback()
        return _page(request, session, who, error=validation_field(exc), values=values, status_code=422)
    except FormError as exc:
        return _page(request, session, who, error=explain(request, exc, exc.field), values=values, status_code=422)
    except VenueError as exc:
        session.rollback()
        field = "site_code" if getattr(exc, "entity", None) == "site" else "room_code"
        return _page(request, session, who, error=explain(request, exc, field), values=values, status_code=422)
    session.commit()
    return RedirectResponse("/closures", status_code=303)


def _closure(request: Request, session: Session, who: Principal, closure_id: int,
             replanning: bool = False) -> Closure | Response:
    closure = closure_service.get_closure(session, closure_id=closure_id)
    if closure is None:
        return error_page(request, who, 404, "error.404")
    allowed = may_replan_site(session, who, closure.site_id) if replanning else who.sees_site(closure.site_id)
    if not allowed:
        return hide(request, session, who, f"closure:{closure_id}")
    return closure


def _closure_writer(request: Request, session: Session, closure_id: int, csrf: str | None,
                    replanning: bool = False) -> tuple[Principal, Closure] | Response:
    """A coordinator's (or admin's) user and a closure of a site in scope, or the page to answer instead."""
    return write_target(request, session, csrf, COORDINATORS,
                        lambda who: _closure(request, session, who, closure_id, replanning))


@router.post("/closures/{closure_id}/replan")
def replan(closure_id: IdPath, request: Request, session: SessionDep,
           csrf_token: Annotated[str | None, Form()] = None) -> Response:
    """Re-plan the drawn projects in scope holding seats in the closed site or room; shows the report."""
    guard = _closure_writer(request, session, closure_id, csrf_token, replanning=True)
    if isinstance(guard, Response):
        return guard
    who, closure = guard
    seen = closure_service.public(session, closure)
    try:
        report = replan_closure(session, site_code=seen.site_code, room_code=seen.room_code, start=seen.start,
                                end=seen.end, now=clock.now(), scope=project_write_clause(who), actor=who.actor)
        report["other_main_sites"] = projects_run_elsewhere(session, who, report)
    except ReplanInputError as exc:
        session.rollback()
        return _page(request, session, who, error=explain(request, exc, exc.field), status_code=422)
    session.commit()
    return _page(request, session, who, report=report)


@router.post("/closures/{closure_id}/delete")
def reopen(closure_id: IdPath, request: Request, session: SessionDep,
           csrf_token: Annotated[str | None, Form()] = None) -> Response:
    """Reopen: remove the closure (the service ledgers it, as for the API's DELETE)."""
    guard = _closure_writer(request, session, closure_id, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, closure = guard
    closure_service.delete_closure(session, closure=closure, actor=who.actor)
    session.commit()
    return RedirectResponse("/closures", status_code=303)
