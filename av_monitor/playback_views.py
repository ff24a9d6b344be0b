"""HTTP routes of recorded playback: listings, HLS files, one run as a seekable MP4, verification.

`GET /api/recordings/{room}/{recording_id}/runs/{n}.mp4` serves run n as one fragmented MP4: its
init segment followed by its media segments, concatenated on the fly (nothing is copied), with
`Accept-Ranges: bytes` and single-range requests (206; 416 when unsatisfiable), so a browser's
`<video>` plays and seeks it without a JavaScript player. The HLS playlist and its files serve
HLS players (VLC, ffplay, Safari).

What is a "view" (`av.view_recording`): fetching the playlist, or a run from its first byte (no
Range, or a range starting at 0); later range requests (seeking, buffering) and the segment files
an HLS player fetches are the same view and are not ledgered. The same user opening the same
recording again within `recording_view_log_seconds` is not ledgered again either (the playback page
always is, and the video requests it makes are then part of that view).
Callers: admins, coordinators and supervisors whose scope covers the room's site (others: a
ledgered 404, as for live viewing). A recording is played only while it verifies (av_monitor.
rec_verify): otherwise every request gets 409 naming `recording_id` and what failed, ledgered
`av.playback_refused`; files are read only by the names the recorder writes, inside the folder.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session, select

from access.deps import SessionDep, Staff, deny_out_of_scope
from access.service import Principal
from av_monitor import rec_verify, recordings
from av_monitor.rec_files import own_file
from av_monitor.rec_segments import PLAYLIST_NAME
from av_monitor.views import viewer_room
from config.settings import get_settings
from venues.models import Room

router = APIRouter(prefix="/api", tags=["av_monitor"])
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024
_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4", ".m4s": "video/iso.segment"}
_logged: dict[tuple[str, str, str], float] = {}
_logged_lock = threading.Lock()


def _problem(status: int, field: str, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=[{"loc": [field], "msg": message}])


def scoped_room(session: Session, request: Request, who: Principal, code: str) -> Room:
    """The room when its site is in the caller's scope, else a ledgered 404 naming `room`."""
    if not recordings.ROOM_CODE.match(code):
        raise _problem(422, "room", "a room code is letters, digits, '-' and '_' (at most 64)")
    room = session.exec(select(Room).where(Room.code == code)).first()
    if room is None or not who.sees_site(room.site_id):
        if room is not None:
            deny_out_of_scope(session, request, who, f"room:{code}")
            session.commit()
        raise _problem(404, "room", f"no room with code {code!r}")
    return room


def find_recording(room: str, recording_id: str) -> recordings.Recording:
    """The recording, or 422/404 naming `recording_id`."""
    if not recordings.RECORDING_ID.match(recording_id):
        raise _problem(422, "recording_id", "a recording id is letters, digits, '-' and '_' (at most 64)")
    found = recordings.load(room, recording_id)
    if found is None:
        raise _problem(404, "recording_id", "no such recording in this room")
    return found


def recording_dep(room: str, recording_id: str, request: Request, session: SessionDep,
                  who: Staff) -> recordings.Recording:
    """The recording named by the path, in the caller's scope."""
    scoped_room(session, request, who, room)
    return find_recording(room, recording_id)


RecordingDep = Annotated[recordings.Recording, Depends(recording_dep)]


def note_view(session: Session, *, who: Principal, recording: recordings.Recording, via: str,
              force: bool = False) -> bool:
    """Ledger a view unless `who` viewed the recording within recording_view_log_seconds (commits).

    `force` (the playback page) always ledgers; the page's own video requests then count as that view.
    """
    key = (who.actor, recording.room, recording.recording_id)
    now = time.monotonic()
    window = get_settings().recording_view_log_seconds
    with _logged_lock:
        last = _logged.get(key)
        if not force and last is not None and now - last < window:
            return False
        if len(_logged) > 10_000:  # forget expired keys so the map stays small
            for stale in [k for k, t in _logged.items() if now - t >= window]:
                del _logged[stale]
        _logged[key] = now
    recordings.log_view(session, room=recording.room, recording_id=recording.recording_id, actor=who.actor, via=via)
    session.commit()
    return True


@router.get("/rooms/{code}/recordings")
def room_recordings(room: Annotated[Room, Depends(viewer_room)]) -> list[dict[str, Any]]:
    """The room's recordings (newest first): runs, segments, duration, start and end, gaps, finished."""
    return [r.summary() for r in recordings.list_room(room.code)]


@router.post("/recordings/{room}/{recording_id}/verify")
def verify_recording(recording: RecordingDep, session: SessionDep, who: Staff) -> dict[str, Any]:
    """Re-hash every segment against its `av.segment` ledger entry and check the playlist (ledgered `av.verify`)."""
    report = rec_verify.verify(session, room=recording.room, recording_id=recording.recording_id)
    rec_verify.log_verify(session, report=report, actor=who.actor)
    session.commit()
    return report.as_dict()


def require_playable(session: Session, who: Principal, recording: recordings.Recording, via: str) -> None:
    """Nothing when the recording verifies; else a ledgered 409 naming `recording_id` and what failed."""
    report = rec_verify.playable(session, room=recording.room, recording_id=recording.recording_id,
                                 actor=who.actor, via=via)
    if not report.ok:
        session.commit()
        raise _problem(409, "recording_id", "the recording fails verification and is not played ("
                       + rec_verify.problems_text(report) + "); POST …/verify gives the full report")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range asked for; None for the whole file; 416 when unsatisfiable or malformed."""
    if not header or "," in header:
        return None  # several ranges: answered with the whole file, as RFC 9110 allows
    m = _RANGE.match(header.strip())
    if m is None or m.group(1) == m.group(2) == "":
        if header.strip().lower().startswith("bytes="):
            raise _unsatisfiable(size)
        return None  # another unit: ignored
    first, last = m.group(1), m.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or (last != "" and int(last) < start):
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> HTTPException:
    return HTTPException(status_code=416, detail=[{"loc": ["range"], "msg": "range not satisfiable"}],
                         headers={"Content-Range": f"bytes */{size}"})


def read_span(parts: list[tuple[Path, int]], start: int, end: int) -> Iterator[bytes]:
    """Bytes start..end (inclusive) of the files `parts` (path, size) laid end to end."""
    offset = 0
    for path, size in parts:
        lo, hi = max(start, offset), min(end + 1, offset + size)
        if lo < hi:
            with open(path, "rb") as fh:
                fh.seek(lo - offset)
                left = hi - lo
                while left > 0:
                    chunk = fh.read(min(_CHUNK, left))
                    if not chunk:
                        raise OSError(f"{path.name} shrank while being served")
                    left -= len(chunk)
                    yield chunk
        offset += size
        if offset > end:
            return


def serve_parts(request: Request, files: list[Path], media_type: str) -> Response:
    """The files as one resource with range support."""
    try:
        parts = [(p, p.stat().st_size) for p in files]
    except FileNotFoundError as exc:
        raise _problem(404, "recording_id", "a file of this recording is missing") from exc
    size = sum(s for _, s in parts)
    tag = hashlib.sha256(repr([(p.name, s) for p, s in parts]).encode()).hexdigest()[:32]
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{tag}"', "Cache-Control": "private, no-cache"}
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    span = parse_range(wanted, size) if if_range in (None, f'"{tag}"') else None
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(read_span(parts, 0, size - 1), media_type=media_type, headers=headers)
    start, end = span
    headers.update({"Content-Length": str(end - start + 1), "Content-Range": f"bytes {start}-{end}/{size}"})
    return StreamingResponse(read_span(parts, start, end), status_code=206, media_type=media_type, headers=headers)


@router.get("/recordings/{room}/{recording_id}/runs/{number}.mp4", response_class=Response, responses={
    200: {"content": {"video/mp4": {}}, "description": "The whole run."},
    206: {"content": {"video/mp4": {}}, "description": "The requested byte range."},
    416: {"description": "The range is not satisfiable."}})
def run_mp4(number: int, request: Request, recording: RecordingDep, session: SessionDep, who: Staff) -> Response:
    """Run `number` as one fragmented MP4 with HTTP range support (seekable by `<video>`)."""
    if not 0 <= number < len(recording.runs):
        raise _problem(404, "number", f"the recording has {len(recording.runs)} runs (0 …)")
    require_playable(session, who, recording, "mp4")
    try:
        files = recordings.run_files(recording, number) or []
    except recordings.UnsafeRecording as exc:  # verify refuses these first; kept as a second lock
        raise _problem(409, "recording_id", str(exc)) from exc
    response = serve_parts(request, files, "video/mp4")
    if response.status_code == 200 or response.headers.get("content-range", "").startswith("bytes 0-"):
        note_view(session, who=who, recording=recording, via="mp4")
    return response


@router.get("/recordings/{room}/{recording_id}/{name}", response_class=Response, responses={
    200: {"content": {"application/vnd.apple.mpegurl": {}, "video/mp4": {}, "video/iso.segment": {}},
          "description": "The playlist (index.m3u8), an init segment or a media segment."}})
def recording_file(name: str, request: Request, recording: RecordingDep, session: SessionDep, who: Staff) -> Response:
    """A file of the recording for HLS players: `index.m3u8` (ledgered view), `init-NNN.mp4`, `seg-NNNNNN.m4s`."""
    if name != PLAYLIST_NAME and not recordings.MEDIA_FILE.match(name):
        raise _problem(404, "name", "index.m3u8, init-NNN.mp4 or seg-NNNNNN.m4s")
    path = own_file(recording.folder, name)
    if path is None:
        raise _problem(404, "name", "no such file in this recording")
    require_playable(session, who, recording, "hls")
    if name == PLAYLIST_NAME:
        note_view(session, who=who, recording=recording, via="hls")
        return Response(path.read_bytes(), media_type=_TYPES[".m3u8"], headers={"Cache-Control": "no-cache"})
    return serve_parts(request, [path], _TYPES[path.suffix])
