"""HTTP routes of check-in (/api/checkin/…) and of evaluation reports (/api/projects/{code}/report…).

Terminals (role `terminal`, bound to one room) ask for a challenge, then send the frames; a refused
attempt is committed (it counts towards lockouts and sits in the ledger) before its error answer.
Supervisors check experts in by hand with a reason; coordinators upload the report experts sign.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, Response, UploadFile
from sqlmodel import select

from access.deps import Coordinator, SessionDep, Staff, deny_out_of_scope, require
from access.service import Principal
from checkin import reports, seats, service
from checkin.exceptions import CheckinRefused
from checkin.models import ChallengeCreate, ChallengePublic, CheckinPublic, ManualCheckin, ReportPublic, SignoffPublic
from config import clock
from config.settings import get_settings
from evaluation.guards import projects_in_scope
from evaluation.project_refs import get_project
from venues.models import Room

router = APIRouter(prefix="/api/checkin", tags=["checkin"])
report_router = APIRouter(prefix="/api/projects", tags=["checkin"])

Terminal = Annotated[Principal, Depends(require("terminal"))]
Supervisor = Annotated[Principal, Depends(require("admin", "supervisor"))]
RoomReader = Annotated[Principal, Depends(require("admin", "coordinator", "supervisor", "terminal"))]
IdNumber = Annotated[str, Form(min_length=1, max_length=40, description="the ID number entered or swiped")]
Token = Annotated[str, Form(min_length=1, max_length=1000, description="the challenge token")]
Frames = Annotated[list[UploadFile], File(description="the captured frames in order (JPEG or PNG)")]


def _read_frames(frames: list[UploadFile]) -> list[bytes]:
    s = get_settings()
    if len(frames) > s.liveness_max_frames:
        raise HTTPException(status_code=422, detail=[{"loc": ["body", "frames"],
                                                      "msg": f"at most {s.liveness_max_frames} frames"}])
    out = []
    for f in frames:
        data = f.file.read(s.face_max_image_bytes + 1)
        if len(data) > s.face_max_image_bytes:
            raise HTTPException(status_code=413, detail=[{"loc": ["body", "frames"],
                                                          "msg": f"a frame exceeds {s.face_max_image_bytes} bytes"}])
        out.append(data)
    return out


def _claim(session: SessionDep, who: Principal, token: str, id_number: str, purpose: str,
           now: datetime) -> service.Claim:
    """Claim the challenge in its own short transaction, before the slow judgement (replays fail at once)."""
    try:
        claim = service.begin(session, who=who, token=token, id_number=id_number, purpose=purpose, now=now)
    except CheckinRefused:
        session.commit()
        raise
    session.commit()
    return claim


def _room_in_scope(request: Request, session: SessionDep, who: Principal, room_code: str) -> Room:
    room = session.exec(select(Room).where(Room.code == room_code)).first()
    ok = room is not None and (room.id == who.room_id if who.role == "terminal" else who.sees_site(room.site_id))
    if room is None or not ok:
        if room is not None:
            deny_out_of_scope(session, request, who, f"room:{room_code}")
            session.commit()
        raise HTTPException(status_code=404, detail=[{"loc": ["path", "room_code"], "msg": "room not found"}])
    return room


@router.get("/terminal")
def terminal(session: SessionDep, who: Terminal) -> dict[str, Any]:
    """The terminal's room and its projects of the day, counts only."""
    if who.room_id is None:
        raise CheckinRefused(409, "authorization", "checkin.no_room", "this terminal account is not bound to a room")
    return seats.terminal_info(session, room_id=who.room_id, now=clock.now())


@router.post("/challenges", response_model=ChallengePublic, status_code=201)
def new_challenge(body: ChallengeCreate, session: SessionDep, who: Terminal) -> ChallengePublic:
    """A random head-turn challenge for the ID number entered at this terminal."""
    return service.challenge(session, who=who, id_number=body.id_number, purpose=body.purpose, now=clock.now())


@router.post("/attempts", response_model=CheckinPublic)
def attempt(session: SessionDep, who: Terminal, token: Token, id_number: IdNumber, frames: Frames) -> CheckinPublic:
    """Verify the expert at the terminal (liveness and face) and check them in to their seat in this room."""
    data, now = _read_frames(frames), clock.now()
    claim = _claim(session, who, token, id_number, "checkin", now)
    try:
        result = service.check_in(session, who=who, claim=claim, id_number=id_number, frames=data, now=now)
    except CheckinRefused:
        session.commit()  # the failed attempt counts and stays in the ledger
        raise
    session.commit()
    return result


@router.post("/signoffs", response_model=SignoffPublic, status_code=201)
def signoff(session: SessionDep, who: Terminal, token: Token, id_number: IdNumber, frames: Frames,
            report_sha256: Annotated[str, Form(min_length=64, max_length=64, pattern="^[0-9a-fA-F]{64}$")],
            project_code: Annotated[str | None, Form(min_length=1, max_length=60)] = None) -> SignoffPublic:
    """Re-verify the expert and record their sign-off of the report hash the terminal showed."""
    data, now = _read_frames(frames), clock.now()
    claim = _claim(session, who, token, id_number, "signoff", now)
    try:
        result = reports.sign_off(session, who=who, claim=claim, id_number=id_number, frames=data,
                                  report_sha256=report_sha256, now=now, project_code=project_code)
    except CheckinRefused:
        session.commit()
        raise
    session.commit()
    return result


@router.post("/manual", response_model=CheckinPublic, status_code=201)
def manual(body: ManualCheckin, request: Request, session: SessionDep, who: Supervisor) -> CheckinPublic:
    """Check an expert in by hand, with a stated reason (face recognition is never the only way in)."""
    room = _room_in_scope(request, session, who, body.room_code)
    try:
        result = service.manual_check_in(session, who=who, room=room, data=body, now=clock.now())
    except CheckinRefused:
        session.commit()  # refused tries are ledgered and count towards the lockout
        raise
    session.commit()
    return result


@router.get("/rooms/{room_code}")
def room_status(room_code: str, request: Request, session: SessionDep, who: RoomReader) -> dict[str, Any]:
    """A room's projects of the day with seat, check-in and sign-off counts; names once unsealed (D5)."""
    room = _room_in_scope(request, session, who, room_code)
    assert room.id is not None
    return seats.room_status(session, room_id=room.id, now=clock.now(), with_names=who.role != "terminal")


def _project(request: Request, session: SessionDep, who: Principal, code: str, write: bool) -> Any:
    projects_in_scope(request, session, who, [code], write=write)
    project = get_project(session, code=code)
    if project is None:  # pragma: no cover - projects_in_scope already answered 404
        raise HTTPException(status_code=404, detail=[{"loc": ["path", "code"], "msg": "project not found"}])
    return project


@report_router.post("/{code}/report", response_model=ReportPublic, status_code=201)
def upload_report(code: str, request: Request, session: SessionDep, who: Coordinator,
                  file: Annotated[UploadFile, File(description="the evaluation report (e.g. PDF)")]) -> ReportPublic:
    """Upload a new version of the project's evaluation report (after its start)."""
    project = _project(request, session, who, code, write=True)
    limit = get_settings().report_max_bytes
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise HTTPException(status_code=413, detail=[{"loc": ["body", "file"],
                                                      "msg": f"the report exceeds {limit} bytes"}])
    result = reports.upload(session, project=project, filename=file.filename or "report", content=content,
                            actor=who.actor, now=clock.now())
    session.commit()
    return result


@report_router.get("/{code}/report", response_model=ReportPublic)
def report(code: str, request: Request, session: SessionDep, who: Staff) -> ReportPublic:
    """The project's current report: hash, version and sign-off count."""
    found = reports.report_of(session, project=_project(request, session, who, code, write=False))
    if found is None:
        raise HTTPException(status_code=404, detail=[{"loc": ["path", "code"], "msg": "no report uploaded yet"}])
    return found


@report_router.get("/{code}/report/file", response_class=Response,
                   responses={200: {"content": {"application/octet-stream": {}}}})
def report_file(code: str, request: Request, session: SessionDep, who: Staff) -> Response:
    """The bytes of the project's current report, as uploaded."""
    project = _project(request, session, who, code, write=False)
    row = seats.current_report(session, project.id)
    if row is None:
        raise HTTPException(status_code=404, detail=[{"loc": ["path", "code"], "msg": "no report uploaded yet"}])
    safe = "".join(ch for ch in row.filename if ch.isascii() and (ch.isalnum() or ch in "._-")) or "report"
    return Response(content=row.content, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{safe}"', "X-Report-SHA256": row.sha256})
