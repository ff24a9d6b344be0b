"""A real two-run room recording for playback tests, ledgered as the hub does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from av_monitor import service
from av_monitor.recorder import RoomRecorder, SegmentInfo
from config.settings import Settings
from ledger.models import LedgerEntry
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack

ROOM = "MAIN-R1"


async def _record(directory: Path, infos: list[SegmentInfo]) -> str:
    settings = Settings(recording_segment_seconds=1.0)
    recorder = RoomRecorder(room_code=ROOM, directory=directory, on_segment=infos.append, settings=settings)
    for first in (0, 1000):  # two publisher connections: two runs, a gap between them
        recorder.add_track(CounterVideoTrack(first=first))
        recorder.add_track(ToneAudioTrack())
        await asyncio.sleep(3.2)
        recorder.track_ended()
    await recorder.stop()
    return recorder.recording_id


def make_recording(directory: Path) -> tuple[str, list[SegmentInfo]]:
    """Record two runs of generated media into `directory/<recording_id>`; the closed segments."""
    infos: list[SegmentInfo] = []
    recording_id = asyncio.run(_record(directory, infos))
    return recording_id, infos


def ledger_segments(session: Session, infos: list[SegmentInfo]) -> None:
    """Ledger the segments as the hub does."""
    for info in infos:
        service.log_segment(session, info=info)
    session.commit()


def kinds(engine: Engine, kind: str) -> list[dict[str, object]]:
    """The ledger entries of `kind` in order, as actor, subject and payload fields."""
    with Session(engine) as s:
        rows = s.exec(select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(col(LedgerEntry.seq))).all()
        return [{"actor": r.actor, "subject": r.subject, **json.loads(r.payload)} for r in rows]
