"""Live walls (WHEP in the browser) and the room camera page (WHIP in the browser).

- `/terminal/stream` (role terminal): the room's camera PC publishes camera and microphone with
  WHIP (`static/whip.js`), reconnecting with backoff; a page apart from the check-in kiosk, so a
  room may use a separate PC for its camera.
- `/wall/projects/{code}` (staff who may read the project): every room holding the project's seats,
  at its main and auxiliary sites, as a live tile; `/wall/sites/{code}?day=` (staff, site in
  scope): every room of the site holding seats that day. Each tile plays the room's stream
  (`static/whep.js`, muted until clicked) beside its check-in and sign-off counts and its recent
  stream events, polled from `GET /api/checkin/rooms/{room}` and `GET /api/rooms/{room}/stream`.
  Names of checked-in experts appear only where that API gives them, i.e. once the committee is
  unsealed at the start (D5); before, counts only. Out of scope: the console's ledgered 404.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from access.deps import SessionDep
from access.service import Principal
from api import i18n
from api.pages.common import (
    console_user,
    error_page,
    hide,
    in_range,
    language,
    local,
    render,
    script_messages,
    terminal_room,
)
from config import clock
from config.clock import as_aware
from config.settings import get_settings
from evaluation.models import HOLDING, Project, Seat
from evaluation.statistics import local_day_bounds
from evaluation.visibility import project_visible
from venues.models import Room, Site

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
POLL_SECONDS = 5
# The messages the pages' scripts show (sent with the page in its language).
WHIP_SCRIPT_KEYS: tuple[str, ...] = (
    "stream.state.starting", "stream.state.publishing", "stream.state.reconnecting", "stream.state.stopped",
    "stream.camera.denied", "stream.camera.absent", "stream.retry_in",
)
WHEP_SCRIPT_KEYS: tuple[str, ...] = (
    "wall.state.connecting", "wall.state.live", "wall.state.waiting", "wall.state.stalled", "wall.state.error",
    "wall.unmute", "wall.mute", "wall.full", "wall.thumb", "wall.recording", "wall.viewers",
    "wall.event.alert.no_frames", "wall.event.alert.connection_failed", "wall.event.checkin", "wall.event.publishing",
    "wall.event.unpublished", "wall.no_events", "wall.counts", "terminal.phase.upcoming", "terminal.phase.checkin",
    "terminal.phase.evaluating", "terminal.phase.ended",
)


@dataclass(frozen=True)
class Tile:
    """A room on a wall: the room, its site, and the projects holding seats there on the wall."""

    room: Room
    site: Site
    main: bool
    projects: list[str]
    viewable: bool  # the viewer's scope covers the room's site (WHEP and the room's counts need it)


@router.get("/terminal/stream")
def camera(request: Request, session: SessionDep) -> Response:
    """The room camera page: publish camera and microphone with WHIP from the browser (role terminal)."""
    found = terminal_room(request, session)
    if isinstance(found, Response):
        return found
    who, room = found
    s = get_settings()
    low = {"width": s.webrtc_thumbnail_width, "fps": s.webrtc_thumbnail_fps, "bitrate": s.webrtc_thumbnail_bitrate}
    return render(request, "room_stream.html", {
        "room": room, "site": session.get(Site, room.site_id), "messages": script_messages(request, WHIP_SCRIPT_KEYS),
        "low_layer": low if s.webrtc_publish_low_layer else None,
    }, who=who)


def _tiles(session: Session, who: Principal, projects: list[Project], *, site_id: int | None = None) -> list[Tile]:
    """The rooms where `projects` hold seats (only at `site_id` when given): main-site rooms first."""
    by_id = {p.id: p for p in projects}
    if not by_id:
        return []
    stmt = select(Seat.room_id, Seat.project_id).where(col(Seat.project_id).in_(list(by_id))).distinct()
    held: dict[int, set[str]] = {}
    for room_id, project_id in session.exec(stmt).all():
        held.setdefault(room_id, set()).add(by_id[project_id].code)
    main_sites = {p.main_site_id for p in projects}
    tiles = []
    for room in session.exec(select(Room).where(col(Room.id).in_(list(held)))).all():
        if site_id is not None and room.site_id != site_id:
            continue
        site = session.get(Site, room.site_id)
        assert room.id is not None and site is not None
        tiles.append(Tile(room=room, site=site, main=room.site_id in main_sites, projects=sorted(held[room.id]),
                          viewable=who.sees_site(room.site_id)))
    return sorted(tiles, key=lambda t: (not t.main, t.site.code, t.room.code))


def _wall(request: Request, who: Principal, *, title: str, subtitle: str, tiles: list[Tile],
          projects: list[Project]) -> Response:
    now = clock.now()
    sealed = [p.code for p in projects if as_aware(p.start) > now]
    return render(request, "wall.html", {
        "title": title, "subtitle": subtitle, "tiles": tiles, "sealed": sealed, "poll_seconds": POLL_SECONDS,
        "utc_offset": get_settings().display_utc_offset_hours,
        "messages": script_messages(request, WHEP_SCRIPT_KEYS),
        "projects": [(p.code, local(p.start).strftime("%Y-%m-%d %H:%M"), local(p.end).strftime("%H:%M"))
                     for p in projects],
    }, who=who)


@router.get("/wall/projects/{code}")
def project_wall(request: Request, session: SessionDep, code: str) -> Response:
    """Every room of a project (main and auxiliary sites) live, with its check-ins and events."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    project = session.exec(select(Project).where(Project.code == code)).first() if len(code) <= 64 else None
    if project is None:
        return error_page(request, who, 404, "error.404")
    if not project_visible(session, who, project):
        return hide(request, session, who, f"project:{code}")
    t = i18n.translator(language(request))
    return _wall(request, who, title=t("wall.project.title", code=project.code), subtitle=project.name,
                 tiles=_tiles(session, who, [project]), projects=[project])


def _day(value: str | None) -> date | None:
    if not value:
        return local(clock.now()).date()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if in_range(day) else None


@router.get("/wall/sites/{code}")
def site_wall(request: Request, session: SessionDep, code: str, day: str | None = None) -> Response:
    """Every room of a site holding seats on a day (default today) live, with its check-ins and events."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    site = session.exec(select(Site).where(Site.code == code)).first() if len(code) <= 64 else None
    if site is None or site.id is None:
        return error_page(request, who, 404, "error.404")
    if not who.sees_site(site.id):
        return hide(request, session, who, f"site:{code}")
    chosen = _day(day)
    if chosen is None:
        return error_page(request, who, 422, "wall.bad_day")
    begin, end = local_day_bounds(chosen)
    here = select(Seat.project_id).where(Seat.site_id == site.id)
    projects = list(session.exec(select(Project).where(
        col(Project.id).in_(here), col(Project.status).in_(HOLDING), col(Project.start) >= begin,
        col(Project.start) < end).order_by(col(Project.start), col(Project.code))).all())
    t = i18n.translator(language(request))
    return _wall(request, who, title=t("wall.site.title", code=site.code, day=chosen.isoformat()),
                 subtitle=site.name, tiles=_tiles(session, who, projects, site_id=site.id), projects=projects)

