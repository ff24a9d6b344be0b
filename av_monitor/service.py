"""Ledger writes of A/V monitoring: recorded segments, views, publishing sessions, stream alerts.

Payloads are audit facts only (ids, hashes, durations, file names): never media data.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlmodel import Session

import ledger
from ledger.models import LedgerEntry


class SegmentFacts(Protocol):
    """What the ledger keeps of a closed segment (`av_monitor.recorder.SegmentInfo` has these)."""

    @property
    def room_code(self) -> str: ...
    @property
    def recording_id(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...
    @property
    def duration(self) -> float: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def gap_before(self) -> bool: ...


def subject(room_code: str) -> str:
    """The ledger subject of a room's A/V entries."""
    return f"room:{room_code}"


def log_segment(session: Session, *, info: SegmentFacts) -> LedgerEntry:
    """Append `av.segment` for one closed recording segment (caller commits)."""
    payload = {"recording_id": info.recording_id, "index": info.index, "sha256": info.sha256,
               "duration": round(float(info.duration), 3), "started_at": info.started_at.isoformat(),
               "gap_before": bool(info.gap_before), "file": info.path.name}
    # The run's init segment (codec set-up) is hashed too, so the whole playable file is covered.
    init_path, init_sha = getattr(info, "init_path", None), getattr(info, "init_sha256", None)
    if init_path is not None and init_sha:
        payload.update(init=Path(init_path).name, init_sha256=init_sha)
    # How the video was recorded: "remux" (the publisher's H.264 as it came) or "transcode" (decoded, libx264).
    payload["video"] = str(getattr(info, "video", "transcode"))
    payload["audio"] = str(getattr(info, "audio", "transcode"))
    return ledger.append(session, kind="av.segment", subject=subject(info.room_code), payload=payload)


def log_view(session: Session, *, room_code: str, actor: str, session_id: str) -> LedgerEntry:
    """Append `av.view`: `actor` opened a live view of the room (caller commits)."""
    return ledger.append(session, kind="av.view", subject=subject(room_code), actor=actor,
                         payload={"session": session_id})


def log_publish(session: Session, *, room_code: str, actor: str, session_id: str, started: bool,
                recording_id: str | None) -> LedgerEntry:
    """Append `av.publish` (started) or `av.unpublish` (stopped) for a WHIP session (caller commits)."""
    kind = "av.publish" if started else "av.unpublish"
    return ledger.append(session, kind=kind, subject=subject(room_code), actor=actor,
                         payload={"session": session_id, "recording_id": recording_id})


def log_alert(session: Session, *, room_code: str, reason: str, session_id: str | None, seconds: float | None,
              at: datetime) -> LedgerEntry:
    """Append `av.alert`: the room's stream stopped (caller commits)."""
    payload: dict[str, object] = {"reason": reason, "session": session_id}
    if seconds is not None:
        payload["seconds_without_frames"] = round(seconds, 1)
    return ledger.append(session, kind="av.alert", subject=subject(room_code), payload=payload, ts=at)
