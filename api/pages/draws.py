"""The draw's form actions on a project page: prepare (commit), run, unseal, replace an expert."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import NoResultFound
from sqlmodel import Session

from access.deps import IdPath, SessionDep
from access.service import Principal
from api.pages.common import COORDINATORS, back_to_project, error_page, explain, hide
from api.pages.forms import writer
from api.pages.projects import readable_project
from config import clock
from evaluation import invitations, replacements
from evaluation import service as draw_service
from evaluation.export import UnknownProjectError
from evaluation.models import Draw, Project
from evaluation.visibility import visible_project_codes, writable_project_codes
from scheduler.exceptions import ReplacementError
from scheduler.replace import REASONS

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
CsrfField = Annotated[str | None, Form(alias="csrf_token")]


def _back(code: str, flash: dict[str, object] | None, request: Request) -> RedirectResponse:
    return back_to_project(request, code, "draw", flash)


def _guard(request: Request, session: Session, code: str, csrf: str | None,
           roles: frozenset[str], *, write: bool = True) -> tuple[Principal, Project] | Response:
    """The user and project for a form action, or the page to answer instead (login, 403, 404).

    Acting on a project (draw, replace) needs its main site in scope, as the API; unsealing needs it visible.
    """
    who = writer(request, session, csrf, roles)
    if isinstance(who, Response):
        return who
    project = readable_project(request, session, who, code)
    if isinstance(project, Response):
        return project
    if write and not writable_project_codes(session, who, [project.code]):
        return hide(request, session, who, f"project:{code} write")
    return who, project


def _draw_of(request: Request, session: Session, who: Principal, code: str, draw_id: IdPath, *,
             write: bool = True) -> Draw | Response:
    """The draw when it holds project `code` and every project of it is in scope (as the API requires)."""
    row = draw_service.get_draw(session, draw_id=draw_id)
    if row is None or code not in (row.project_codes or []):
        return error_page(request, who, 404, "error.404")
    codes = list(row.project_codes)
    allowed = (writable_project_codes if write else visible_project_codes)(session, who, codes)
    if set(codes) - allowed:
        return hide(request, session, who, f"draw:{draw_id}")
    return row


def _draw_guard(request: Request, session: Session, code: str, draw_id: IdPath, csrf: str | None,
                roles: frozenset[str], *, write: bool = True) -> tuple[Principal, Project, Draw] | Response:
    """The user, project and draw for a form action on one draw, or the page to answer instead."""
    guard = _guard(request, session, code, csrf, roles, write=write)
    if isinstance(guard, Response):
        return guard
    who, project = guard
    row = _draw_of(request, session, who, code, draw_id, write=write)
    if isinstance(row, Response):
        return row
    return who, project, row


@router.post("/projects/{code}/draws")
def prepare_draw(code: str, request: Request, session: SessionDep, csrf_token: CsrfField = None) -> Response:
    """Step 1: commit the seed; the page then shows its SHA-256 before anything is drawn (D3)."""
    guard = _guard(request, session, code, csrf_token, COORDINATORS)
    if isinstance(guard, Response):
        return guard
    who, project = guard
    try:
        row = draw_service.commit_draw(session, project_codes=[project.code], actor=who.actor, now=clock.now())
    except (draw_service.DrawStateError, UnknownProjectError) as exc:
        session.rollback()
        return _back(code, {"key": "draw.failed", "msg": explain(request, exc), "error": True}, request)
    logger.info("draw %s committed for project %s from the console", row.id, project.code)
    return _back(code, None, request)


@router.post("/projects/{code}/draws/{draw_id}/run")
def run_draw(code: str, draw_id: IdPath, request: Request, session: SessionDep,
             csrf_token: CsrfField = None) -> Response:
    """Step 2: draw with the committed seed; the committee is stored sealed (D5)."""
    guard = _draw_guard(request, session, code, draw_id, csrf_token, COORDINATORS)
    if isinstance(guard, Response):
        return guard
    who, _, _ = guard
    try:
        draw_service.run_draw(session, draw_id=draw_id, actor=who.actor, now=clock.now())
    except (draw_service.DrawStateError, draw_service.DrawNotFound) as exc:
        session.rollback()
        return _back(code, {"key": "draw.failed", "msg": explain(request, exc), "error": True}, request)
    # As the API: the drawn experts' messages are enqueued now; the outbox job (or "send now") sends them.
    invitations.after_draw(session, draw_id=draw_id, now=clock.now())
    session.commit()
    return _back(code, None, request)


@router.post("/projects/{code}/draws/{draw_id}/reveal")
def reveal_draw(code: str, draw_id: IdPath, request: Request, session: SessionDep,
                csrf_token: CsrfField = None) -> Response:
    """Unseal the committee once the evaluation has started (refused before, D5)."""
    guard = _draw_guard(request, session, code, draw_id, csrf_token,
                        frozenset({"admin", "coordinator", "supervisor"}), write=False)
    if isinstance(guard, Response):
        return guard
    who, _, _ = guard
    try:
        draw_service.reveal(session, draw_id=draw_id, now=clock.now(), actor=who.actor)
    except draw_service.StillSealed:
        return _back(code, {"key": "draw.still_sealed", "error": True}, request)
    except draw_service.DrawNotFound as exc:
        return _back(code, {"key": "draw.failed", "msg": explain(request, exc), "error": True}, request)
    return _back(code, None, request)


@router.post("/projects/{code}/draws/{draw_id}/replacements")
def replace_expert(
    code: str, draw_id: IdPath, request: Request, session: SessionDep, csrf_token: CsrfField = None,
    expert_code: Annotated[str, Form(max_length=40)] = "", reason: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Replace one expert of the committee (R1) with a recorded reason (R2)."""
    guard = _draw_guard(request, session, code, draw_id, csrf_token, COORDINATORS)
    if isinstance(guard, Response):
        return guard
    who, project, _ = guard
    if reason not in REASONS:
        return error_page(request, who, 422, "error.422", field="reason")
    if not expert_code.strip():
        return error_page(request, who, 422, "error.422", field="expert_code")
    if not replacements.replacement_by_code_open(session, project_code=project.code, now=clock.now()):
        return _back(code, {"key": "draw.failed", "msg": replacements.BEFORE_START_REPLACEMENT, "error": True},
                     request)
    try:
        record = replacements.replace(session, draw_id=draw_id, project_code=project.code,
                                      expert_code=expert_code.strip(), reason=reason, now=clock.now(),
                                      actor=who.actor)
    except (ReplacementError, draw_service.DrawNotFound, NoResultFound) as exc:
        session.rollback()
        failure = explain(request, exc) or "expert_code"
        return _back(code, {"key": "draw.failed", "msg": failure, "error": True}, request)
    # Only reachable after the start, when the committee may be named.
    return _back(code, {"key": "draw.replaced", "old": record["replaced"], "new": record["replacement"]}, request)
