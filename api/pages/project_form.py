"""Create, edit and cancel evaluation projects from the console (as POST/PATCH /api/projects)."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from access.deps import SessionDep
from access.service import Principal
from api.pages.common import COORDINATORS, error_page, explain, hide, member, render
from api.pages.forms import (
    FormError,
    codes,
    local_datetime,
    local_input,
    number,
    validation_field,
    write_target,
    writer,
)
from api.pages.projects import readable_project
from evaluation import projects as project_service
from evaluation.models import PROCEDURES, Project, ProjectCreate, ProjectUpdate
from venues.models import Site

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]
Texts = Annotated[list[str], Form(max_length=50)]
NEED_ROWS = 4  # empty rows offered on the form (blank ones are ignored)


def _sites(session: Session, who: Principal) -> list[Site]:
    return [s for s in session.exec(select(Site).order_by(col(Site.code))).all() if who.sees_site(s.id)]


def _needs(specialties: list[str], counts: list[str]) -> list[dict[str, Any]]:
    out = []
    for i, (spec, count) in enumerate(zip(specialties, counts + [""] * len(specialties), strict=False)):
        if spec.strip() or count.strip():
            out.append({"specialty": spec.strip(), "count": number(count, f"needs.{i}.count")})
    return out


def _form(request: Request, who: Principal, session: Session, values: dict[str, Any], *, project: Project | None,
          error: str | None = None, status_code: int = 200) -> Response:
    needs = list(values.get("needs") or [])
    rows = needs + [{"specialty": "", "count": ""}] * max(NEED_ROWS - len(needs), 1)
    return render(request, "project_form.html", {
        "v": values, "p": project, "procedures": PROCEDURES, "sites": _sites(session, who), "need_rows": rows,
        "error": error,
    }, who=who, status_code=status_code)


@router.get("/projects/new")
def new_project(request: Request, session: SessionDep) -> Response:
    """The form of a new project (admins and coordinators; the main site must be in their scope)."""
    who = member(request, session, COORDINATORS)
    if isinstance(who, Response):
        return who
    return _form(request, who, session, {"aux_mode": "random", "representatives": 1}, project=None)


@router.post("/projects/new")
def create_project(
    request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
    code: Text = "", name: Text = "", procedure: Text = "", budget: Text = "", region: Text = "",
    tenderer_code: Text = "", agent_code: Text = "", supervisor_org_codes: Text = "", bidder_codes: Text = "",
    start: Text = "", end: Text = "", size: Text = "", representatives: Text = "", main_site_code: Text = "",
    aux_mode: Text = "random", aux_site_codes: Texts = [], need_specialty: Texts = [],  # noqa: B006
    need_count: Texts = [],  # noqa: B006
) -> Response:
    """Create the project; bad input re-shows the form with a message naming the field (422)."""
    who = writer(request, session, csrf_token, COORDINATORS)
    if isinstance(who, Response):
        return who
    values: dict[str, Any] = {
        "code": code.strip(), "name": name.strip(), "procedure": procedure, "budget": budget, "region": region.strip(),
        "tenderer_code": tenderer_code.strip(), "agent_code": agent_code.strip() or None,
        "supervisor_org_codes": codes(supervisor_org_codes), "bidder_codes": codes(bidder_codes),
        "start": start, "end": end, "size": size, "representatives": representatives,
        "main_site_code": main_site_code, "aux_mode": aux_mode,
        "aux_site_codes": None if aux_mode == "random" else list(aux_site_codes),
        "needs": [{"specialty": s, "count": c} for s, c in zip(need_specialty, need_count, strict=False) if s or c],
    }
    site = session.exec(select(Site).where(Site.code == main_site_code)).first()
    if site is not None and not who.sees_site(site.id):
        return hide(request, session, who, f"site:{main_site_code}")
    try:
        data = ProjectCreate.model_validate({
            **values, "start": local_datetime(start, "start"), "end": local_datetime(end, "end"),
            "needs": _needs(need_specialty, need_count)})
        project = project_service.create_project(session, data=data, actor=who.actor)
    except ValidationError as exc:
        session.rollback()
        return _form(request, who, session, values, project=None, error=validation_field(exc), status_code=422)
    except (FormError, project_service.ProjectDataError) as exc:
        session.rollback()
        return _form(request, who, session, values, project=None, error=explain(request, exc, exc.field),
                     status_code=422)
    except project_service.ProjectExists as exc:
        session.rollback()
        return _form(request, who, session, values, project=None, error=explain(request, exc, "code"), status_code=409)
    session.commit()
    logger.info("project %s created from the console", project.code)
    return RedirectResponse(f"/projects/{quote(project.code, safe='')}", status_code=303)


def writable_project(request: Request, session: Session, who: Principal, code: str) -> Project | Response:
    """The project when `who`'s scope covers its main site (as the API's writes), else the 404 page."""
    project = readable_project(request, session, who, code)
    if isinstance(project, Response):
        return project
    if not who.sees_site(project.main_site_id):
        return hide(request, session, who, f"project:{code} write")
    return project


def project_writer(request: Request, session: Session, code: str, csrf: str | None, *,
                   form: bool = True) -> tuple[Principal, Project] | Response:
    """A coordinator's (or admin's) user and writable project `code`, or the page to answer instead.

    `form` (a POST) checks the CSRF token too; the edit form's GET does not.
    """
    return write_target(request, session, csrf, COORDINATORS,
                        lambda who: writable_project(request, session, who, code), form=form)


@router.get("/projects/{code}/edit")
def edit_project(code: str, request: Request, session: SessionDep) -> Response:
    """The edit form: name and budget always; time, size and needs while the project is planned."""
    guard = project_writer(request, session, code, None, form=False)
    if isinstance(guard, Response):
        return guard
    who, project = guard
    detail = project_service.project_detail(session, project=project)
    values = {**detail, "start": local_input(project.start), "end": local_input(project.end)}
    return _form(request, who, session, values, project=project)


@router.post("/projects/{code}/edit")
def update_project(
    code: str, request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
    name: Text = "", budget: Text = "", start: Text = "", end: Text = "", size: Text = "",
    representatives: Text = "", need_specialty: Texts = [], need_count: Texts = [],  # noqa: B006
) -> Response:
    """Apply the changed fields; a drawn project refuses new times, size or needs (409 with advice)."""
    guard = project_writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, project = guard
    values: dict[str, Any] = {"code": project.code, "name": name, "budget": budget, "start": start, "end": end,
                              "size": size, "representatives": representatives,
                              "needs": [{"specialty": s, "count": c}
                                        for s, c in zip(need_specialty, need_count, strict=False) if s or c]}
    try:
        changes: dict[str, Any] = {"name": name.strip(), "budget": budget}
        current = project_service.project_detail(session, project=project)
        new = {"start": local_datetime(start, "start"), "end": local_datetime(end, "end"), "size": size,
               "representatives": representatives, "needs": _needs(need_specialty, need_count)}
        old = {"start": local_input(project.start), "end": local_input(project.end), "size": str(project.size),
               "representatives": str(project.representatives), "needs": current["needs"]}
        given = {"start": start, "end": end, "size": size, "representatives": representatives, "needs": new["needs"]}
        # Only the fields the user changed are sent, so a drawn project can still be renamed.
        changes |= {k: new[k] for k in new if given[k] != old[k]}
        data = ProjectUpdate.model_validate(changes)
        project_service.update_project(session, code=code, data=data, actor=who.actor)
    except ValidationError as exc:
        session.rollback()
        return _form(request, who, session, values, project=project, error=validation_field(exc), status_code=422)
    except (FormError, project_service.ProjectDataError) as exc:
        session.rollback()
        return _form(request, who, session, values, project=project, error=explain(request, exc, exc.field),
                     status_code=422)
    except project_service.ProjectStateError as exc:
        session.rollback()
        return _form(request, who, session, values, project=project, error=explain(request, exc), status_code=409)
    session.commit()
    return RedirectResponse(f"/projects/{quote(code, safe='')}", status_code=303)


@router.post("/projects/{code}/cancel")
def cancel_project(code: str, request: Request, session: SessionDep,
                   csrf_token: Annotated[str | None, Form()] = None) -> Response:
    """Cancel a project that is not under evaluation (409 page otherwise)."""
    guard = project_writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, project = guard
    try:
        project_service.cancel_project(session, code=code, actor=who.actor)
    except project_service.ProjectStateError as exc:
        session.rollback()
        return error_page(request, who, 409, "error.409", msg=str(exc))
    session.commit()
    return RedirectResponse(f"/projects/{quote(code, safe='')}", status_code=303)
