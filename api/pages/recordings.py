"""Console pages of room recordings: the list (by room or project) and playback with the event timeline.

Playback uses the browser's own `<video>` on each run served as one seekable MP4
(av_monitor.playback_views), so no player library is shipped. The timeline beside it is the
ledger's slice of the evaluation (check-ins, replacements, sign-offs, stream alerts, publisher
connections) read through audit.query in the user's scope, plus the recording's own gaps; a
click seeks the run that covers that moment. Opening the playback page is ledgered
(`av.view_recording`, via "page"); the verify button posts to the API with the CSRF header.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from access.deps import SessionDep
from access.service import Principal
from api.pages.common import console_user, error_page, fmt_dt, hide, language, render
from audit import query
from av_monitor import playback_views, rec_verify, recordings
from config.clock import as_aware
from evaluation.models import Project, Seat
from venues.models import Room

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
# Ledger kinds shown on the timeline (prefixes), each with its message key.
TIMELINE_KINDS: tuple[tuple[str, str], ...] = (
    ("checkin.", "rec.ev.checkin"), ("replacement", "rec.ev.replacement"), ("draw.replace", "rec.ev.replacement"),
    ("report.signoff", "rec.ev.signoff"), ("report.", "rec.ev.report"), ("av.alert", "rec.ev.alert"),
    ("av.publish", "rec.ev.publish"), ("av.unpublish", "rec.ev.unpublish"),
)
CONTEXT = timedelta(minutes=30)  # events this long before/after the recording are shown (not seekable)
MOST_EVENTS = 2000


def _rooms_in_scope(session: Session, who: Principal, codes: list[str]) -> list[Room]:
    rooms = session.exec(select(Room).where(col(Room.code).in_(codes))).all() if codes else []
    return sorted((r for r in rooms if who.sees_site(r.site_id)), key=lambda r: r.code)


def _row(rec: recordings.Recording) -> dict[str, Any]:
    facts = rec.summary()
    return {**facts, "started": fmt_dt(rec.started_at, "%Y-%m-%d %H:%M:%S"),
            "ended": fmt_dt(rec.ended_at, "%Y-%m-%d %H:%M:%S"), "minutes": round(facts["duration"] / 60, 1),
            "url": f"/recordings/{quote(rec.room, safe='')}/{quote(rec.recording_id, safe='')}"}


@router.get("/recordings")
def recordings_page(request: Request, session: SessionDep, room: str | None = None,
                    project: str | None = None) -> Response:
    """Recordings of one room, of a project's rooms during its window, or of every room in scope."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    room, project = (room or "").strip(), (project or "").strip()
    window: tuple[datetime, datetime] | None = None
    if room:
        if not recordings.ROOM_CODE.match(room):
            return error_page(request, who, 422, "error.422", field="room")
        rooms = _rooms_in_scope(session, who, [room])
        if not rooms:
            return hide(request, session, who, f"room:{room}")
    elif project:
        if len(project) > 60:
            return error_page(request, who, 422, "error.422", field="project")
        try:
            found = query.find_project(session, who, project)
        except query.OutOfScope:
            return hide(request, session, who, f"project:{project}")
        codes = session.exec(select(Room.code).join(Seat, col(Seat.room_id) == col(Room.id))
                             .where(col(Seat.project_id) == found.id).distinct()).all()
        # Only the project's rooms at sites in the reader's scope: the recordings API answers the same.
        rooms = _rooms_in_scope(session, who, list(codes))
        window = query.room_window(found)
    else:
        rooms = _rooms_in_scope(session, who, recordings.rooms_on_disk())
    rows: list[dict[str, Any]] = []
    for r in sorted(rooms, key=lambda x: x.code):
        found_recs = recordings.list_room(r.code)
        rows += [_row(rec) for rec in (recordings.overlapping(found_recs, *window) if window else found_recs)]
    return render(request, "recordings.html", {"rows": rows, "room": room, "project": project}, who=who)


def _timeline(session: Session, who: Principal, room: Room, rec: recordings.Recording) -> list[dict[str, Any]]:
    """The evaluation's events around the recording, each with the run and offset to seek to."""
    assert rec.started_at is not None and rec.ended_at is not None
    lo, hi = rec.started_at - CONTEXT, rec.ended_at + CONTEXT
    projects = session.exec(select(Project).join(Seat, col(Seat.project_id) == col(Project.id))
                            .where(col(Seat.room_id) == room.id).distinct()).all()
    searches = [query.LedgerQuery(room=room.code, since=lo, until=hi, limit=query.MAX_LIMIT)]
    for p in projects:
        start, end = query.room_window(p)
        if start <= hi and end >= lo:
            searches.append(query.LedgerQuery(project=p.code, since=lo, until=hi, limit=query.MAX_LIMIT))
    found: dict[int, query.Row] = {}
    for q in searches:
        try:
            while len(found) < MOST_EVENTS:
                page = query.search(session, who=who, query=q)
                found.update((e.seq, e) for e in page.entries)
                if page.next_after_seq is None:
                    break
                q = replace(q, after_seq=page.next_after_seq)
        except query.OutOfScope:
            continue  # a project the user may not read: its events stay hidden
    events: list[dict[str, Any]] = []
    for e in sorted(found.values(), key=lambda x: x.seq):
        key = next((k for prefix, k in TIMELINE_KINDS if e.kind.startswith(prefix)), None)
        when = e.when
        if key is not None and when is not None:  # an edited timestamp is for the operation log to show
            events.append(_event(rec, as_aware(when), key, e.kind, _detail(e)))
    for prev, run in zip(rec.runs, rec.runs[1:], strict=False):
        if run.gap_before:
            gap_from = prev.started_at + timedelta(seconds=prev.duration)
            seconds = round((run.started_at - gap_from).total_seconds(), 1)
            events.append({**_event(rec, gap_from, "rec.ev.gap", "gap", str(seconds)),
                           "run": run.number, "at": 0.0})
    return sorted(events, key=lambda ev: ev["when"])


def _event(rec: recordings.Recording, when: datetime, key: str, kind: str, detail: str) -> dict[str, Any]:
    run, at = next(((r.number, r.offset(when)) for r in rec.runs if r.offset(when) is not None), (None, None))
    return {"when": when, "time": fmt_dt(when, "%H:%M:%S"), "key": key, "kind": kind, "detail": detail,
            "run": run, "at": None if at is None else round(at, 2)}


def _detail(entry: query.Row) -> str:
    """A short, public part of the payload (the payloads are audit facts by construction)."""
    try:
        payload = json.loads(entry.payload)
    except ValueError:
        return ""
    if not isinstance(payload, dict):
        return ""
    shown = {k: v for k, v in payload.items() if k in ("reason", "result", "need", "seat", "outcome", "status")}
    return ", ".join(f"{k}={v}" for k, v in shown.items())[:120]


@router.get("/recordings/{room_code}/{recording_id}")
def playback_page(request: Request, session: SessionDep, room_code: str, recording_id: str) -> Response:
    """Play a recording (one seekable video per run) beside the evaluation's timeline; ledgered."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    room = room_code
    for name, value, pattern in (("room_code", room, recordings.ROOM_CODE), ("recording_id", recording_id,
                                                                           recordings.RECORDING_ID)):
        if not pattern.match(value):
            return error_page(request, who, 422, "error.422", field=name)
    rooms = _rooms_in_scope(session, who, [room])
    if not rooms:
        return hide(request, session, who, f"room:{room}")
    rec = recordings.load(room, recording_id)
    if rec is None or not rec.runs:
        return error_page(request, who, 404, "error.404")
    report = rec_verify.playable(session, room=room, recording_id=recording_id, actor=who.actor, via="page")
    if not report.ok:
        session.commit()
        return error_page(request, who, 409, "rec.not_verified", problems=rec_verify.problems_text(report))
    playback_views.note_view(session, who=who, recording=rec, via="page", force=True)
    base = f"/api/recordings/{quote(room, safe='')}/{quote(recording_id, safe='')}"
    runs = [{"number": r.number, "src": f"{base}/runs/{r.number}.mp4", "started": fmt_dt(r.started_at, "%H:%M:%S"),
             "minutes": round(r.duration / 60, 1), "gap_before": r.gap_before} for r in rec.runs]
    return render(request, "playback.html", {
        "rec": _row(rec), "runs": runs, "events": _timeline(session, who, rooms[0], rec),
        "verify_url": f"{base}/verify", "hls_url": f"{base}/index.m3u8", "page_lang": language(request),
    }, who=who)
