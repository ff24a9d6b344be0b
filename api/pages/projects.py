"""A project's page: its details and its draw (commitment, sealed view, unsealed committee)."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from access.deps import SessionDep
from access.service import Principal
from api.pages import panels
from api.pages.common import COORDINATORS, aware, console_user, error_page, hide, render
from checkin import reports
from config import clock
from evaluation import projects as project_service
from evaluation import service as draw_service
from evaluation.models import Draw, Project
from evaluation.visibility import project_visible
from experts.models import Expert
from scheduler.replace import REASONS
from venues.models import Site

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def readable_project(request: Request, session: Session, who: Principal, code: str) -> Project | Response:
    """The project when it lies in `who`'s scope, else the 404 page (out of scope ledgered)."""
    project = project_service.get_project(session, code=code)
    if project is None:
        return error_page(request, who, 404, "error.404")
    if not project_visible(session, who, project):
        return hide(request, session, who, f"project:{code}")
    return project


def _committed(session: Session, code: str) -> list[Draw]:
    # Draws whose seed is committed but not run yet hold no per-project rows: find them by code.
    rows = session.exec(select(Draw).where(Draw.status == "committed").order_by(col(Draw.id))).all()
    return [d for d in rows if code in (d.project_codes or [])]


def _committee(session: Session, result: dict[str, Any], code: str, main_site: str | None) -> list[dict[str, Any]]:
    """The unsealed committee of project `code`, grouped per site then room."""
    entry = next((p for p in result["projects"] if p["project"] == code), None)
    if entry is None:
        return []
    codes = [s["expert"] for s in entry["seats"]]
    names = dict(session.exec(select(Expert.code, Expert.name).where(col(Expert.code).in_(codes))).all())
    sites: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for s in entry["seats"]:
        sites[s["site"]][s["room"]].append({"need": s["need"], "code": s["expert"], "name": names.get(s["expert"], "")})
    order = sorted(sites, key=lambda c: (c != main_site, c))
    return [{"site": c, "rooms": [{"room": r, "seats": sorted(sites[c][r], key=lambda x: (x["need"], x["code"]))}
                                  for r in sorted(sites[c])]} for c in order]


def _draws(session: Session, project: Project, detail: dict[str, Any], started: bool) -> list[dict[str, Any]]:
    main_site = detail.get("main_site_code")
    out = []
    for d in detail["draws"]:
        row = session.get(Draw, d["draw_id"])
        if row is None:
            continue
        summary = d.get("summary") or json.loads(row.public_summary or "{}").get(project.code) or {}
        committee = None
        # Only a draw someone has explicitly unsealed (ledgered) is shown in clear, and only after the start.
        assert row.id is not None
        result = draw_service.opened(session, draw_id=row.id, now=clock.now()) if started else None
        if result is not None and any(p["project"] == project.code for p in result["projects"]):
            committee = _committee(session, result, project.code, main_site)
        out.append({"row": row, "summary": summary, "seats_per_site": d.get("seats_per_site") or {},
                    "committee": committee})
    return out


@router.get("/projects/{code}")
def project_page(code: str, request: Request, session: SessionDep) -> Response:
    """The project's details and draw; the committee only once unsealed after the start (D5)."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    found = readable_project(request, session, who, code)
    if isinstance(found, Response):
        return found
    project = found
    detail = project_service.project_detail(session, project=project)
    started = clock.now() >= aware(project.start)
    site_names = dict(session.exec(select(Site.code, Site.name)).all())
    flash = request.session.pop("flash", None)
    bids = request.session.pop("bids", None)
    draws = _draws(session, project, detail, started)
    may_draw = who.role in COORDINATORS
    drawn_ids = [d["row"].id for d in draws if d["row"].status in ("drawn", "revealed")]
    unsealed = started and any(d["committee"] is not None for d in draws)
    return render(request, "project.html", {
        "p": project, "detail": detail, "committed": _committed(session, project.code),
        "draws": draws, "started": started, "may_draw": may_draw, "reasons": REASONS,
        "may_write": may_draw and who.sees_site(project.main_site_id),
        "notices": panels.notification_panel(session, draw_ids=drawn_ids, code=project.code) if may_draw else {},
        "replacements": panels.replacement_history(session, project=project, named=unsealed),
        "bids": bids if isinstance(bids, dict) else None,
        "report": reports.report_of(session, project=project),
        "site_names": site_names, "flash": flash if isinstance(flash, dict) else None,
    }, who=who)
