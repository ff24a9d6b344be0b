"""Recorded rooms on disk: listing, runs as one virtual file, verification against the ledger, retention.

A recording is `recording_directory/<room>/<recording_id>/` (av_monitor.recorder). Its playlist says
which segments belong to which run (one init segment per publisher connection); the `av.segment`
ledger entries say what each segment's bytes were when it was closed. Verification re-hashes the
files against those entries. Retention rule: a recording is removed once its last segment ended more
than `recording_retention_days` ago, unless it is still being written: a playlist without
EXT-X-ENDLIST whose folder changed within `recording_retention_open_hours` is left alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

import ledger
from av_monitor.rec_segments import PLAYLIST_NAME, Playlist, PlaylistEntry
from av_monitor.service import subject
from config.settings import Settings, get_settings

logger = logging.getLogger(__name__)
ROOM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RECORDING_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MEDIA_FILE = re.compile(r"^(init-\d{3}\.mp4|seg-\d{6}\.m4s)$")
SEGMENT_FILE = re.compile(r"^seg-\d{6}\.m4s$")
_CHUNK = 1 << 20


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
                "gaps": sum(1 for r in self.runs if r.gap_before),
                "runs": [{"number": r.number, "segments": len(r.entries), "duration": round(r.duration, 3),
                          "started_at": r.started_at, "gap_before": r.gap_before} for r in self.runs]}


def root(settings: Settings | None = None) -> Path:
    """The folder holding every room's recordings."""
    return (settings or get_settings()).recording_directory


def load(room: str, recording_id: str, *, base: Path | None = None) -> Recording | None:
    """The recording `recording_id` of `room`, None when absent (the caller validated both names)."""
    folder = (base or root()) / room / recording_id
    if not (folder / PLAYLIST_NAME).is_file():
        return None
    try:
        playlist = Playlist.load(folder / PLAYLIST_NAME, target_seconds=1)
    except (OSError, ValueError) as exc:
        # One damaged playlist must not hide the room's other recordings or stop retention everywhere;
        # "verify recording" still reports it.
        logger.error("recording %s/%s: unreadable playlist (%s)", room, recording_id, type(exc).__name__)
        return None
    runs: list[Run] = []
    for entry in playlist.entries:
        if not runs or runs[-1].init_name != entry.init_name:
            runs.append(Run(len(runs), entry.init_name, [], entry.discontinuity))
        runs[-1].entries.append(entry)
    return Recording(room, recording_id, folder, runs, playlist.ended)


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


def run_files(recording: Recording, number: int) -> list[Path] | None:
    """The files of run `number` in playing order (init segment first), None when there is no such run."""
    if not 0 <= number < len(recording.runs):
        return None
    run = recording.runs[number]
    return [recording.folder / run.init_name] + [recording.folder / e.name for e in run.entries]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def ledgered_segments(session: Session, *, room: str, recording_id: str) -> dict[int, dict[str, Any]]:
    """The `av.segment` payloads of a recording by index (a repeated index keeps the first)."""
    out: dict[int, dict[str, Any]] = {}
    after = 0
    while True:
        batch = ledger.entries(session, kind_prefix="av.segment", subject=subject(room), limit=1000, after_seq=after)
        for entry in batch:
            payload = json.loads(entry.payload)
            if entry.kind == "av.segment" and payload.get("recording_id") == recording_id:
                out.setdefault(int(payload["index"]), payload)
        if len(batch) < 1000:
            return out
        after = batch[-1].seq


@dataclass
class VerifyReport:
    """Outcome of re-hashing a recording against its `av.segment` ledger entries."""

    room: str
    recording_id: str
    ok: bool = False
    checked: int = 0  # ledgered segments whose file was re-hashed
    missing: list[str] = field(default_factory=list)  # ledgered, no file
    altered: list[str] = field(default_factory=list)  # file differs from the ledgered hash
    unledgered: list[str] = field(default_factory=list)  # segment file with no ledger entry
    extra: list[str] = field(default_factory=list)  # files that are no part of a recording
    index_gaps: list[int] = field(default_factory=list)  # indexes missing from the ledger's sequence
    discontinuities: list[int] = field(default_factory=list)  # segments after a publisher gap (informational)
    init_files: dict[str, str] = field(default_factory=dict)  # init segment -> sha256 (not ledgered)
    playlist_ok: bool = False
    playlist_problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON values."""
        return asdict(self)


def verify(session: Session, *, room: str, recording_id: str, base: Path | None = None) -> VerifyReport:
    """Re-hash every file of a recording and compare with the ledger and the playlist (read only)."""
    report = VerifyReport(room, recording_id)
    folder = (base or root()) / room / recording_id
    facts = ledgered_segments(session, room=room, recording_id=recording_id)
    files = {p.name: p for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}
    ledgered_names = {str(f["file"]) for f in facts.values()}
    for index in sorted(facts):
        name = str(facts[index]["file"])
        if name not in files:
            report.missing.append(name)
            continue
        report.checked += 1
        if file_sha256(files[name]) != facts[index]["sha256"]:
            report.altered.append(name)
        if facts[index].get("gap_before"):
            report.discontinuities.append(index)
    if facts:
        report.index_gaps = sorted(set(range(max(facts) + 1)) - set(facts))
    for name in sorted(files):
        if SEGMENT_FILE.match(name) and name not in ledgered_names:
            report.unledgered.append(name)
        elif name.startswith("init-") and MEDIA_FILE.match(name):
            report.init_files[name] = file_sha256(files[name])
        elif name != PLAYLIST_NAME and not SEGMENT_FILE.match(name):
            report.extra.append(name)
    # Segments ledger their run's init segment (codec set-up) too: a changed or missing one is caught.
    for fact in facts.values():
        init, init_sha = fact.get("init"), fact.get("init_sha256")
        if not init or not init_sha:
            continue
        if str(init) not in files:
            if str(init) not in report.missing:
                report.missing.append(str(init))
        elif report.init_files.get(str(init)) != init_sha and str(init) not in report.altered:
            report.altered.append(str(init))
    report.playlist_problems = _playlist_problems(folder, facts, files)
    report.playlist_ok = not report.playlist_problems
    report.ok = bool(facts) and report.playlist_ok and not (
        report.missing or report.altered or report.unledgered or report.extra or report.index_gaps)
    return report


def _playlist_problems(folder: Path, facts: dict[int, dict[str, Any]], files: dict[str, Path]) -> list[str]:
    if PLAYLIST_NAME not in files:
        return ["playlist missing"]
    try:
        playlist = Playlist.load(folder / PLAYLIST_NAME, target_seconds=1)
    except (OSError, ValueError):
        return ["playlist unreadable"]
    entries = playlist.entries
    problems: list[str] = []
    ledgered = [facts[i] for i in sorted(facts)]
    listed = [e.name for e in entries]
    # The hub ledgers a segment (and waits) before the recorder lists it, so a crash may leave the last
    # ledgered segment unlisted, but only while the recording is unfinished.
    shortfall = len(ledgered) - len(listed)
    if listed != [str(f["file"]) for f in ledgered][: len(listed)] or shortfall > (0 if playlist.ended else 1):
        problems.append("segment list differs from the ledger")
    for entry, fact in zip(entries, ledgered, strict=False):
        if fact.get("init") and entry.init_name != fact["init"]:
            problems.append(f"{entry.name}: init segment differs from the ledger")
        started = fact.get("started_at")
        if started and abs((entry.started_at - datetime.fromisoformat(str(started))).total_seconds()) > 0.002:
            problems.append(f"{entry.name}: start time differs from the ledger")
        if abs(entry.duration - float(fact["duration"])) > 0.002:
            problems.append(f"{entry.name}: duration differs")
        if entry.discontinuity != bool(fact.get("gap_before")):
            problems.append(f"{entry.name}: discontinuity differs")
        if entry.init_name not in files:
            problems.append(f"{entry.name}: init segment {entry.init_name} missing")
    return problems


def log_verify(session: Session, *, report: VerifyReport, actor: str) -> None:
    """Ledger `av.verify` with the outcome (file names and counts only; caller commits)."""
    payload = {k: v for k, v in report.as_dict().items() if k not in ("room", "init_files")}
    payload["init_files"] = sorted(report.init_files)
    ledger.append(session, kind="av.verify", subject=subject(report.room), actor=actor, payload=payload)


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
            files = sorted(p for p in rec.folder.iterdir() if p.is_file())
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
