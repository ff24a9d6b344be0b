"""The seat map of one site for one day: per room, its seats filled by the projects holding them."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from access.deps import SessionDep
from access.service import Principal
from api.pages.common import aware, console_user, error_page, hide, in_range, local_tz, render
from config import clock
from evaluation import service as draw_service
from evaluation.models import Draw, Project, Seat
from experts.models import Expert
from venues.models import Room, Site

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def _names(session: Session, draw: Draw, project: str, room: str) -> list[str]:
    """Who sits in `room` for `project`: only for an unsealed draw after the start (D5)."""
    assert draw.id is not None
    result = draw_service.opened(session, draw_id=draw.id, now=clock.now()) or {"projects": []}
    entry = next((p for p in result["projects"] if p["project"] == project), None)
    codes = sorted(s["expert"] for s in (entry or {}).get("seats", []) if s["room"] == room)
    names = dict(session.exec(select(Expert.code, Expert.name).where(col(Expert.code).in_(codes))).all())
    return [f"{c} {names.get(c, '')}".strip() for c in codes]


def _occupancy(session: Session, rooms: list[Room], day: date) -> dict[int, list[dict[str, Any]]]:
    tz = local_tz()
    first = datetime.combine(day, time(0), tzinfo=tz)
    room_ids = [r.id for r in rooms]
    rows = session.exec(select(Seat, Project, Draw).join(Project, col(Project.id) == col(Seat.project_id))
                        .join(Draw, col(Draw.id) == col(Seat.draw_id))
                        .where(col(Seat.room_id).in_(room_ids), col(Project.start) >= first,
                               col(Project.start) < first + timedelta(days=1))).all()
    held: dict[tuple[int, int], dict[str, Any]] = {}
    for seat, project, draw in rows:
        key = (seat.room_id, seat.draw_id * 1_000_003 + (project.id or 0))
        item = held.setdefault(key, {"project": project, "draw": draw, "count": 0})
        item["count"] += 1
    room_code = {r.id: r.code for r in rooms}
    now = clock.now()
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (room_id, _), item in sorted(held.items(), key=lambda kv: (kv[1]["project"].start, kv[1]["project"].code)):
        project, draw = item["project"], item["draw"]
        shown = now >= aware(project.start) and project.code in draw_service.unsealed_projects(
            session, draw_id=draw.id)
        item["names"] = _names(session, draw, project.code, room_code[room_id]) if shown else None
        out[room_id].append(item)
    return out


@router.get("/rooms/day")
def rooms_day(request: Request, session: SessionDep, site: str | None = None, date: str | None = None) -> Response:  # noqa: A002
    """Every room of `site` on `date` (YYYY-MM-DD): counts before the start, names after the unsealing."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    try:
        day = datetime.strptime(date, "%Y-%m-%d").date() if date else clock.now().astimezone(local_tz()).date()
    except ValueError:
        return error_page(request, who, 422, "error.422", field="date (YYYY-MM-DD)")
    if not in_range(day):
        return error_page(request, who, 422, "error.422", field="date (YYYY-MM-DD)")
    sites = [s for s in session.exec(select(Site).order_by(col(Site.code))).all() if who.sees_site(s.id)]
    chosen = _chosen(request, session, who, sites, site)
    if isinstance(chosen, Response):
        return chosen
    rooms = list(session.exec(select(Room).where(Room.site_id == chosen.id).order_by(col(Room.code))).all()) \
        if chosen else []
    occupancy = _occupancy(session, rooms, day) if rooms else {}
    return render(request, "rooms.html", {"sites": sites, "site": chosen, "day": day.isoformat(), "rooms": rooms,
                                          "occupancy": occupancy}, who=who)


def _chosen(request: Request, session: Session, who: Principal, sites: list[Site],
            code: str | None) -> Site | Response | None:
    if code is None:
        return sites[0] if sites else None
    found = session.exec(select(Site).where(Site.code == code)).first()
    if found is None:
        return error_page(request, who, 404, "error.404")
    if not who.sees_site(found.id):
        return hide(request, session, who, f"site:{code}")
    return found
