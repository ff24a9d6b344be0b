"""A project page's form actions: "send now" (the draw's notifications), bid opening, the evaluation report.

Before the evaluation starts the bid-opening report keeps counts only (D5); `api.pages.panels`
builds what the page shows of both.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from access.deps import IdPath, SessionDep
from api.pages.common import aware, back_to_project, error_page, explain, hide
from api.pages.forms import codes
from api.pages.project_form import project_writer
from checkin import reports
from checkin.exceptions import CheckinRefused
from config import clock
from config.settings import get_settings
from evaluation import invitations
from evaluation import projects as project_service
from evaluation import service as draw_service
from evaluation.visibility import writable_project_codes
from notify import service as notify_service

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
MAX_BIDDERS = 500


@router.post("/projects/{code}/draws/{draw_id}/notify")
def send_now(code: str, draw_id: IdPath, request: Request, session: SessionDep,
             csrf_token: Annotated[str | None, Form()] = None) -> Response:
    """Enqueue the draw's messages for the projects the user may act on, then send what is due now."""
    guard = project_writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, _ = guard
    row = draw_service.get_draw(session, draw_id=draw_id)
    if row is None or code not in (row.project_codes or []):
        return error_page(request, who, 404, "error.404")
    allowed = writable_project_codes(session, who, list(row.project_codes))
    if not allowed:
        return hide(request, session, who, f"draw:{draw_id}")
    now = clock.now()
    # Idempotent: the outbox invites each seat holder once (a replacement's message is its invitation).
    queued = invitations.enqueue_draw_notifications(session, draw_id=draw_id, now=now, project_codes=allowed)
    sent = notify_service.dispatch_pending(session, now=now)
    session.commit()
    logger.info("draw %s: %d notifications enqueued, %d sent from the console", draw_id, queued, sent)
    return back_to_project(request, code, "notifications", {"key": "notify.done", "queued": queued, "sent": sent})


@router.post("/projects/{code}/bidders")
def open_bids(code: str, request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
              bidder_codes: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    """Record the bidders at bid opening and replace conflicted experts; the page shows the counts."""
    guard = project_writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, project = guard
    given = codes(bidder_codes)
    if len(given) > MAX_BIDDERS:
        return error_page(request, who, 422, "error.422", field=f"bidder_codes (> {MAX_BIDDERS})")
    try:
        report = project_service.open_bids(session, code=code, bidder_codes=given, now=clock.now(),
                                           actor=who.actor)
    except (project_service.ProjectDataError, project_service.ProjectStateError) as exc:
        session.rollback()
        return back_to_project(request, code, "bidders",
                               {"key": "draw.failed", "msg": explain(request, exc, exc.field), "error": True})
    session.commit()
    started = clock.now() >= aware(project.start)
    request.session["bids"] = {k: report.get(k) for k in ("bidders", "conflicted", "replaced")} | {
        "unresolved": len(report.get("unresolved") or []),
        "per_site": report.get("per_site") or {},
        "replacements": report.get("replacements") if started else None,
    }
    return back_to_project(request, code, "bidders")



@router.post("/projects/{code}/report")
def upload_report(code: str, request: Request, session: SessionDep, file: Annotated[UploadFile, File()],
                  csrf_token: Annotated[str | None, Form()] = None) -> Response:
    """Upload a new version of the evaluation report, which the experts then sign off at their terminals."""
    guard = project_writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, project = guard
    limit = get_settings().report_max_bytes
    content = file.file.read(limit + 1)
    if len(content) > limit:
        return error_page(request, who, 413, "error.422", field=f"file (> {limit} bytes)")
    try:
        got = reports.upload(session, project=project, filename=file.filename or "report", content=content,
                             actor=who.actor, now=clock.now())
    except CheckinRefused as exc:
        session.rollback()
        return back_to_project(request, code, "report", {"key": "draw.failed", "msg": explain(request, exc, exc.field),
                                                         "error": True})
    session.commit()
    return back_to_project(request, code, "report", {"key": "report.uploaded", "version": got.version})
