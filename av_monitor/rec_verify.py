"""Verification of a recording: every file re-hashed against its `av.segment` ledger entry, the playlist too.

A recording verifies when every ledgered segment is there unaltered (its run's init segment too), no
media segment is unaccounted for, the folder holds nothing but the recorder's own files, and the
playlist lists exactly the ledgered segments with their times, durations, runs and gaps. Playback
plays only recordings that verify (`playable`); its check reuses the hashes of files unchanged
since they were last hashed (av_monitor.rec_files), the explicit verify re-reads everything.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

import ledger
from av_monitor.rec_files import INIT_FILE, SEGMENT_FILE, recording_folder, scan
from av_monitor.rec_segments import PLAYLIST_NAME, Playlist
from av_monitor.recordings import file_sha256, root
from av_monitor.service import subject
from ledger.models import LedgerEntry

_REPORTS = 256
_reports: OrderedDict[tuple[str, str, str], tuple[tuple[Any, ...], VerifyReport]] = OrderedDict()
_reports_lock = threading.Lock()


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
    extra: list[str] = field(default_factory=list)  # entries no part of a recording: other names, links
    pending: list[str] = field(default_factory=list)  # the next segment, closed but not yet ledgered
    index_gaps: list[int] = field(default_factory=list)  # indexes missing from the ledger's sequence
    discontinuities: list[int] = field(default_factory=list)  # segments after a publisher gap (informational)
    init_files: dict[str, str] = field(default_factory=dict)  # init segment -> sha256 (not ledgered)
    playlist_ok: bool = False
    playlist_problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON values."""
        return asdict(self)


def verify(session: Session, *, room: str, recording_id: str, base: Path | None = None,
           cached: bool = False) -> VerifyReport:
    """Re-hash every file of a recording and compare with the ledger and the playlist (read only).

    `cached` (playback's check) reuses hashes of files unchanged since they were last hashed, and the
    whole report while no file of the folder changed and the room's `av.segment` entries are the same.
    """
    folder = recording_folder(base or root(), room, recording_id)
    files: dict[str, Path] = {}
    extra: list[str] = []
    if folder is not None and folder.is_dir():
        files, extra = scan(folder)
    key = (str(folder), room, recording_id)
    stamp = _stamp(session, room, files, extra) if cached else None
    if stamp is not None:
        with _reports_lock:
            hit = _reports.get(key)
        if hit is not None and hit[0] == stamp:
            return copy.deepcopy(hit[1])
    report = _verify(session, room, recording_id, files, extra, cached)
    if stamp is not None:
        with _reports_lock:
            _reports[key] = (stamp, copy.deepcopy(report))
            _reports.move_to_end(key)
            while len(_reports) > _REPORTS:
                _reports.popitem(last=False)
    return report


def _stamp(session: Session, room: str, files: dict[str, Path], extra: list[str]) -> tuple[Any, ...]:
    """What a cached report depends on: every file's identity and change stamps, and the room's ledger."""
    stats = []
    for name, path in files.items():
        st = os.stat(path, follow_symlinks=False)
        stats.append((name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    seq = session.exec(select(func.max(LedgerEntry.seq), func.count()).where(
        LedgerEntry.subject == subject(room), LedgerEntry.kind == "av.segment")).one()
    return tuple(stats), tuple(extra), tuple(seq)


def _verify(session: Session, room: str, recording_id: str, files: dict[str, Path], extra: list[str],
            cached: bool) -> VerifyReport:
    report = VerifyReport(room, recording_id, extra=extra)
    facts = ledgered_segments(session, room=room, recording_id=recording_id)
    ledgered_names = {str(f["file"]) for f in facts.values()}
    for index in sorted(facts):
        name = str(facts[index]["file"])
        if name not in files:
            report.missing.append(name)
            continue
        report.checked += 1
        if file_sha256(files[name], cached=cached) != facts[index]["sha256"]:
            report.altered.append(name)
        if facts[index].get("gap_before"):
            report.discontinuities.append(index)
    if facts:
        report.index_gaps = sorted(set(range(max(facts) + 1)) - set(facts))
    unfinished = not _finished(files)
    next_name = f"seg-{max(facts) + 1 if facts else 0:06d}.m4s"
    for name in sorted(files):
        if SEGMENT_FILE.match(name) and name not in ledgered_names:
            # The recorder renames a closed segment before the hub ledgers it: while the recording is
            # open, the one segment after the last ledgered one is in flight, not unaccounted for.
            (report.pending if unfinished and name == next_name else report.unledgered).append(name)
        elif INIT_FILE.match(name):
            report.init_files[name] = file_sha256(files[name], cached=cached)
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
    report.playlist_problems = _playlist_problems(files, facts)
    report.playlist_ok = not report.playlist_problems
    report.ok = bool(facts) and report.playlist_ok and not (
        report.missing or report.altered or report.unledgered or report.extra or report.index_gaps)
    return report


def _finished(files: dict[str, Path]) -> bool:
    try:
        return PLAYLIST_NAME in files and Playlist.load(files[PLAYLIST_NAME], target_seconds=1).ended
    except (OSError, ValueError):
        return False


def _playlist_problems(files: dict[str, Path], facts: dict[int, dict[str, Any]]) -> list[str]:
    if PLAYLIST_NAME not in files:
        return ["playlist missing"]
    try:
        playlist = Playlist.load(files[PLAYLIST_NAME], target_seconds=1)
    except (OSError, ValueError):
        return ["playlist unreadable"]
    entries = playlist.entries
    problems: list[str] = [f"{n!r} is not a file name the recorder writes" for n in sorted(
        {n for e in entries for n, ok in ((e.name, SEGMENT_FILE), (e.init_name, INIT_FILE)) if not ok.match(n)})]
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


def problems_text(report: VerifyReport, *, limit: int = 3) -> str:
    """The report's failures in one short line: `field=name, …` per failing field (at most `limit` names each)."""
    parts = []
    for name in ("missing", "altered", "unledgered", "extra", "index_gaps", "playlist_problems"):
        values = [str(v) for v in getattr(report, name)]
        if values:
            more = f" (+{len(values) - limit})" if len(values) > limit else ""
            parts.append(f"{name}={', '.join(values[:limit])}{more}")
    return "; ".join(parts) or "no av.segment ledger entries"


def playable(session: Session, *, room: str, recording_id: str, actor: str, via: str) -> VerifyReport:
    """Verify before playing (cached hashes); a failure is ledgered `av.playback_refused` (caller commits)."""
    report = verify(session, room=room, recording_id=recording_id, cached=True)
    if not report.ok:
        ledger.append(session, kind="av.playback_refused", subject=subject(room), actor=actor,
                      payload={"recording_id": recording_id, "via": via, "problems": problems_text(report)[:500]})
    return report
