"""The day plan: draw every project of one day together, committed first (D3), run as a long operation.

Three steps on one page: pick the day's projects, prepare (the seed commitment is shown before anything
is drawn), run (a background operation whose progress the page polls). The report and the page show
counts and statuses only, never an expert: the committees stay sealed until each start (D5).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from access.deps import SessionDep
from access.service import Principal
from api.pages.common import COORDINATORS, error_page, hide, in_range, local_tz, member, render
from api.pages.forms import writer
from config import clock, db
from evaluation import invitations
from evaluation import service as draw_service
from evaluation.export import UnknownProjectError
from evaluation.models import Draw, Project
from evaluation.visibility import writable_project_codes
from operations import service as operations
from operations.models import Operation
from venues.models import Site

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
KIND = "draw.dayplan"
DRAWABLE = ("planned", "infeasible")
# A sanity bound on the form, far above any real day (a centre evaluates tens of projects a day).
MAX_PROJECTS = 500
CODE_MAX = 60
DATE_FIELD = "date (YYYY-MM-DD)"
IdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
CsrfField = Annotated[str | None, Form(alias="csrf_token")]


def _day(text: str | None) -> date | None:
    """The day of a YYYY-MM-DD text within the console's years (today, local, when empty), else None."""
    if not text:
        return clock.now().astimezone(local_tz()).date()
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None
    return day if in_range(day) else None


def day_projects(session: Session, who: Principal, day: date) -> list[tuple[Project, str]]:
    """The projects starting on local `day` still to draw whose main site `who` may act on, with that site's code."""
    first = datetime.combine(day, time(0), tzinfo=local_tz())
    rows = session.exec(select(Project, Site.code).join(Site, col(Site.id) == col(Project.main_site_id))
                        .where(col(Project.start) >= first, col(Project.start) < first + timedelta(days=1),
                               col(Project.status).in_(DRAWABLE))
                        .order_by(col(Project.start), col(Project.code))).all()
    writable = writable_project_codes(session, who, [p.code for p, _ in rows])
    return [(p, site) for p, site in rows if p.code in writable]


def _page_url(day: str, **ids: int) -> str:
    return "/dayplan?" + urlencode({"date": day, **ids})


def _draw_in_scope(request: Request, session: Session, who: Principal, draw_id: int) -> Draw | Response:
    """The draw when every project of it is the caller's to act on (else 404, ledgered when out of scope)."""
    row = draw_service.get_draw(session, draw_id=draw_id)
    if row is None:
        return error_page(request, who, 404, "error.404")
    codes = list(row.project_codes or [])
    if set(codes) - writable_project_codes(session, who, codes):
        return hide(request, session, who, f"draw:{draw_id}")
    return row


def _operation(request: Request, session: Session, who: Principal, operation_id: int) -> Operation | Response:
    """A day-plan operation the caller may follow: their own, or any for an admin (as the API)."""
    op = operations.get(session, operation_id=operation_id)
    if op is None or op.kind != KIND:
        return error_page(request, who, 404, "error.404")
    if op.created_by != who.actor and who.role != "admin":
        return hide(request, session, who, f"operation:{operation_id}")
    return op


def draw_report(session: Session, *, draw_id: int) -> dict[str, Any]:
    """Counts of a run draw: drawn and infeasible projects, per project its status and seat count (no expert)."""
    row = session.get(Draw, draw_id)
    summary: dict[str, Any] = json.loads(row.public_summary) if row is not None else {}
    projects = {code: {"status": item["status"], "seats": sum(item["seats_per_site"].values())}
                for code, item in sorted(summary.items())}
    statuses = [p["status"] for p in projects.values()]
    return {"draw_id": draw_id, "drawn": statuses.count("drawn"), "infeasible": statuses.count("infeasible"),
            "projects": projects}


@router.get("/dayplan")
def dayplan_page(request: Request, session: SessionDep, date: str | None = Query(None, max_length=20),  # noqa: A002
                 draw: IdQuery = None, operation: IdQuery = None) -> Response:
    """The day's projects to draw, the prepared draw's commitment, and the running draw's progress."""
    who = member(request, session, COORDINATORS)
    if isinstance(who, Response):
        return who
    day = _day(date)
    if day is None:
        return error_page(request, who, 422, "error.422", field=DATE_FIELD)
    row = _draw_in_scope(request, session, who, draw) if draw is not None else None
    if isinstance(row, Response):
        return row
    op = _operation(request, session, who, operation) if operation is not None else None
    if isinstance(op, Response):
        return op
    committed: list[Project] = []
    if row is not None:
        by_code = {p.code: p for p in session.exec(select(Project).where(
            col(Project.code).in_(list(row.project_codes or []))))}
        committed = [by_code[c] for c in row.project_codes or [] if c in by_code]
    candidates = day_projects(session, who, day) if row is None else []
    return render(request, "dayplan.html", {
        "day": day.isoformat(), "candidates": candidates, "draw": row, "committed": committed, "op": op,
        "running": op is not None and op.status in ("queued", "running"),
    }, who=who)


@router.post("/dayplan/prepare")
def prepare_dayplan(
    request: Request, session: SessionDep, csrf_token: CsrfField = None,
    date: Annotated[str, Form(max_length=20)] = "",  # noqa: A002
    project: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Step 1: commit one seed for the chosen projects; the page then shows its SHA-256 (D3)."""
    who = writer(request, session, csrf_token, COORDINATORS)
    if isinstance(who, Response):
        return who
    day = _day(date)
    if day is None:
        return error_page(request, who, 422, "error.422", field=DATE_FIELD)
    codes = list(dict.fromkeys(c.strip() for c in project or [] if c.strip()))
    if not codes or len(codes) > MAX_PROJECTS or any(len(c) > CODE_MAX for c in codes):
        return error_page(request, who, 422, "error.422", field="project")
    outside = set(codes) - writable_project_codes(session, who, codes)
    if outside:
        # Unknown and out-of-scope codes read alike, so the form cannot probe which projects exist.
        return hide(request, session, who, "project:" + ",".join(sorted(outside)))
    try:
        row = draw_service.commit_draw(session, project_codes=codes, actor=who.actor, now=clock.now())
    except (draw_service.DrawStateError, UnknownProjectError) as exc:
        session.rollback()
        return error_page(request, who, 409, "error.409", msg=str(exc))
    assert row.id is not None
    logger.info("day plan draw %d committed for %d projects", row.id, len(codes))
    return RedirectResponse(_page_url(day.isoformat(), draw=row.id), status_code=303)


@router.post("/dayplan/run")
def run_dayplan(
    request: Request, session: SessionDep, csrf_token: CsrfField = None,
    date: Annotated[str, Form(max_length=20)] = "",  # noqa: A002
    draw_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Step 2: draw the committed projects in a background operation; the page polls its progress."""
    who = writer(request, session, csrf_token, COORDINATORS)
    if isinstance(who, Response):
        return who
    day = _day(date)
    if day is None:
        return error_page(request, who, 422, "error.422", field=DATE_FIELD)
    if draw_id is None:
        return error_page(request, who, 422, "error.422", field="draw_id")
    row = _draw_in_scope(request, session, who, draw_id)
    if isinstance(row, Response):
        return row
    if row.status != "committed":
        return error_page(request, who, 409, "error.409", msg=f"draw {draw_id} has already been run")
    actor = who.actor
    run_id: int = draw_id

    def work(progress: operations.Progress) -> dict[str, Any]:
        # The request's session is gone by the time this runs: the worker opens its own.
        with Session(db.get_engine()) as own:
            try:
                draw_service.run_draw(own, draw_id=run_id, actor=actor, progress=progress.advance, now=clock.now())
            except (draw_service.DrawStateError, draw_service.DrawNotFound, UnknownProjectError) as exc:
                own.rollback()
                raise operations.OperationError(f"draw {run_id}: {exc}") from exc
            # As the API: the drawn experts' messages are enqueued now; the outbox job sends them.
            invitations.after_draw(own, draw_id=run_id, now=clock.now())
            own.commit()
            return draw_report(own, draw_id=run_id)

    op = operations.start(session, kind=KIND, created_by=actor, work=work, total=len(row.project_codes or []))
    assert op.id is not None
    return RedirectResponse(_page_url(day.isoformat(), draw=draw_id, operation=op.id), status_code=303)
