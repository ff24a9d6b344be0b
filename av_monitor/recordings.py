"""Recorded rooms on disk: listing, runs as one virtual file, views and retention (verify: rec_verify).

A recording is `recording_directory/<room>/<recording_id>/` (av_monitor.recorder). Its playlist says
which segments belong to which run (one init segment per publisher connection); the `av.segment`
ledger entries say what each segment's bytes were when it was closed. Verification re-hashes the
files against those entries. Retention rule: a recording is removed once its last segment ended more
than `recording_retention_days` ago, unless it is still being written: a playlist without
EXT-X-ENDLIST whose folder changed within `recording_retention_open_hours` is left alone.

Nothing in a recording's folder is trusted as a path (av_monitor.rec_files): playback, verify and
retention read only the names the recorder writes, as regular files inside the recording's folder;
a playlist naming anything else fails verification, and `playable` refuses to play a recording
that does not verify.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

import ledger
from av_monitor.rec_files import (
    INIT_FILE,
    MEDIA_FILE,
    RECORDING_ID,
    ROOM_CODE,
    SEGMENT_FILE,
    own_file,
    recording_folder,
    scan,
    sha256,
)
from av_monitor.rec_segments import PLAYLIST_NAME, Playlist, PlaylistEntry
from av_monitor.service import subject
from config.settings import Settings, get_settings

logger = logging.getLogger(__name__)
__all__ = ["MEDIA_FILE", "RECORDING_ID", "ROOM_CODE", "SEGMENT_FILE", "Recording", "Run"]


@dataclass
class Run:
    """One publisher connection of a recording: its init segment and media segments, in order."""

    number: int
    init_name: str
    entries: list[PlaylistEntry]
    gap_before: bool

    @property
    def started_at(self) -> datetime:
        """Wall-clock time of the run's first sample."""
        return self.entries[0].started_at

    @property
    def duration(self) -> float:
        """Seconds of media in the run."""
        return sum(e.duration for e in self.entries)

    def offset(self, when: datetime) -> float | None:
        """Seconds into the run's media at wall-clock `when`, None when outside the run."""
        elapsed = 0.0
        for e in self.entries:
            into = (when - e.started_at).total_seconds()
            if 0 <= into <= e.duration:
                return elapsed + into
            elapsed += e.duration
        return None


@dataclass
class Recording:
    """A recording as its folder and playlist describe it."""

    room: str
    recording_id: str
    folder: Path
    runs: list[Run]
    finished: bool
    foreign: list[str] = field(default_factory=list)  # playlist lines naming files the recorder never writes

    @property
    def segments(self) -> int:
        """Media segments listed."""
        return sum(len(r.entries) for r in self.runs)

    @property
    def started_at(self) -> datetime | None:
        """Wall-clock start of the first segment."""
        return self.runs[0].started_at if self.runs else None

    @property
    def ended_at(self) -> datetime | None:
        """Wall-clock end of the last segment."""
        if not self.runs:
            return None
        last = self.runs[-1].entries[-1]
        return last.started_at + timedelta(seconds=last.duration)

    def summary(self) -> dict[str, Any]:
        """JSON facts of the recording (API and pages)."""
        return {"room": self.room, "recording_id": self.recording_id, "finished": self.finished,
                "segments": self.segments, "duration": round(sum(r.duration for r in self.runs), 3),
                "started_at": self.started_at, "ended_at": self.ended_at,
                "gaps": sum(1 for r in self.runs if r.gap_before), "damaged": bool(self.foreign),
                "runs": [{"number": r.number, "segments": len(r.entries), "duration": round(r.duration, 3),
                          "started_at": r.started_at, "gap_before": r.gap_before} for r in self.runs]}


def root(settings: Settings | None = None) -> Path:
    """The folder holding every room's recordings."""
    return (settings or get_settings()).recording_directory


def load(room: str, recording_id: str, *, base: Path | None = None) -> Recording | None:
    """The recording `recording_id` of `room`, None when absent or its folder lies outside the root."""
    folder = recording_folder(base or root(), room, recording_id)
    if folder is None or own_file(folder, PLAYLIST_NAME) is None:
        return None
    try:
        playlist = Playlist.load(folder / PLAYLIST_NAME, target_seconds=1)
    except (OSError, ValueError) as exc:
        # One damaged playlist must not hide the room's other recordings or stop retention everywhere;
        # "verify recording" still reports it.
        logger.error("recording %s/%s: unreadable playlist (%s)", room, recording_id, type(exc).__name__)
        return None
    runs: list[Run] = []
    foreign = sorted({n for e in playlist.entries for n, ok in ((e.name, SEGMENT_FILE), (e.init_name, INIT_FILE))
                      if not ok.match(n)})
    for entry in playlist.entries:
        if not runs or runs[-1].init_name != entry.init_name:
            runs.append(Run(len(runs), entry.init_name, [], entry.discontinuity))
        runs[-1].entries.append(entry)
    return Recording(room, recording_id, folder, runs, playlist.ended, foreign)


def list_room(room: str, *, base: Path | None = None) -> list[Recording]:
    """The room's recordings on disk, newest first."""
    folder = (base or root()) / room
    if not ROOM_CODE.match(room) or not folder.is_dir():
        return []
    found = [load(room, d.name, base=base) for d in folder.iterdir() if d.is_dir() and RECORDING_ID.match(d.name)]
    return sorted((r for r in found if r is not None), key=lambda r: r.recording_id, reverse=True)


def rooms_on_disk(*, base: Path | None = None) -> list[str]:
    """Codes of the rooms having a recordings folder."""
    folder = base or root()
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and ROOM_CODE.match(d.name)) if folder.is_dir() else []


def overlapping(recordings: list[Recording], lo: datetime, hi: datetime) -> list[Recording]:
    """The recordings with media between `lo` and `hi`."""
    return [r for r in recordings if r.started_at and r.ended_at and r.started_at <= hi and r.ended_at >= lo]


class UnsafeRecording(ValueError):
    """A recording names a file playback must not read."""


def run_files(recording: Recording, number: int) -> list[Path] | None:
    """The files of run `number` in playing order (init segment first), None when there is no such run.

    Raises UnsafeRecording when a listed file is not the recorder's own regular file in the folder.
    """
    if not 0 <= number < len(recording.runs):
        return None
    run = recording.runs[number]
    paths = []
    for name in [run.init_name] + [e.name for e in run.entries]:
        path = own_file(recording.folder, name)
        if path is None:
            raise UnsafeRecording(f"{name!r} is not a file of this recording")
        paths.append(path)
    return paths


def file_sha256(path: Path, *, cached: bool = False) -> str:
    """Hex SHA-256 of a file, read in chunks (`cached`: reuse it while the file is unchanged)."""
    return sha256(path, cached=cached)


def log_view(session: Session, *, room: str, recording_id: str, actor: str, via: str) -> None:
    """Ledger `av.view_recording`: `actor` opened a recording through `via` (caller commits)."""
    ledger.append(session, kind="av.view_recording", subject=subject(room), actor=actor,
                  payload={"recording_id": recording_id, "via": via})


def _newest_change(folder: Path) -> float:
    return max([p.stat().st_mtime for p in folder.iterdir()] + [folder.stat().st_mtime])


def sweep(session: Session, *, now: datetime, settings: Settings | None = None) -> dict[str, Any]:
    """Remove the recordings past retention (module docstring) and ledger `av.retention` for each (flushes)."""
    s = settings or get_settings()
    cutoff = now - timedelta(days=s.recording_retention_days)
    busy_after = now.timestamp() - s.recording_retention_open_hours * 3600
    removed, kept_open, failed = 0, 0, 0
    for room in rooms_on_disk(base=s.recording_directory):
        for rec in list_room(room, base=s.recording_directory):
            last = rec.ended_at
            if last is None or last >= cutoff:
                continue
            if not rec.finished and _newest_change(rec.folder) > busy_after:
                kept_open += 1  # still being written (or resumed): never removed under a writer
                continue
            files = list(scan(rec.folder)[0].values())
            segments = [p for p in files if SEGMENT_FILE.match(p.name)]
            facts = {"recording_id": rec.recording_id, "segments": len(segments),
                     "bytes": sum(p.stat().st_size for p in files), "last_segment_end": last.isoformat(),
                     "first_sha256": file_sha256(segments[0]) if segments else None,
                     "last_sha256": file_sha256(segments[-1]) if segments else None}
            try:
                shutil.rmtree(rec.folder)
            except OSError:
                logger.exception("retention: could not remove recording %s of room %s", rec.recording_id, room)
                failed += 1
                continue
            ledger.append(session, kind="av.retention", subject=subject(room), payload=facts)
            session.flush()
            removed += 1
            logger.info("retention: removed recording %s of room %s (%d segments, %d bytes)",
                        rec.recording_id, room, facts["segments"], facts["bytes"])
    return {"removed": removed, "kept_open": kept_open, "failed": failed}
