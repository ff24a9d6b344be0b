"""Cost of playback's verification gate: a full verify against the cached check every request makes.

Usage: .venv/bin/python benchmarks/bench_playback.py [--segments 1800] [--kib 250] [--repeats 5]

A recording of `--segments` media segments of `--kib` KiB (1800 x 2 s = one hour; 250 KiB is ~1 Mbit/s)
is written to a temporary folder with its playlist, and its `av.segment` entries are ledgered in a
temporary SQLite database, as the hub does. Timed, median of `--repeats`: `verify` re-reading every
byte (the explicit verify) and `verify(cached=True)` with the hashes warm (each playback request).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, SQLModel, create_engine  # noqa: E402

from av_monitor import rec_verify, service  # noqa: E402
from av_monitor.rec_segments import PLAYLIST_NAME, Playlist, PlaylistEntry, sha256_hex  # noqa: E402
from ledger.models import LedgerEntry  # noqa: E402

ROOM, RID = "BENCH-R1", "bench-recording"


@dataclass
class Facts:
    """What log_segment reads of a closed segment."""

    room_code: str
    recording_id: str
    index: int
    sha256: str
    duration: float
    started_at: datetime
    gap_before: bool
    path: Path
    init_path: Path
    init_sha256: str


def build(base: Path, session: Session, segments: int, kib: int) -> None:
    """Write the recording and ledger its segments."""
    folder = base / ROOM / RID
    folder.mkdir(parents=True)
    init = folder / "init-000.mp4"
    init.write_bytes(os.urandom(1024))
    playlist = Playlist(folder / PLAYLIST_NAME, target_seconds=2)
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    for i in range(segments):
        data = os.urandom(kib * 1024)
        path = folder / f"seg-{i:06d}.m4s"
        path.write_bytes(data)
        when = start + timedelta(seconds=2 * i)
        playlist.entries.append(PlaylistEntry(path.name, 2.0, when, init.name, False))
        service.log_segment(session, info=Facts(ROOM, RID, i, sha256_hex(data), 2.0, when, False, path, init,
                                                sha256_hex(init.read_bytes())))
    playlist.ended = True
    playlist.write()
    session.commit()


def timed(fn: object, repeats: int) -> float:
    """Median seconds of `repeats` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    """Build, time and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1800)
    parser.add_argument("--kib", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/bench.db")
        SQLModel.metadata.create_all(engine, tables=[LedgerEntry.__table__])  # type: ignore[list-item]
        base = Path(tmp) / "recordings"
        with Session(engine) as session:
            build(base, session, args.segments, args.kib)

            def full() -> None:
                assert rec_verify.verify(session, room=ROOM, recording_id=RID, base=base).ok

            def cached() -> None:
                assert rec_verify.verify(session, room=ROOM, recording_id=RID, base=base, cached=True).ok

            cached()  # warm the hash cache
            t_full, t_cached = timed(full, args.repeats), timed(cached, args.repeats)
    mib = args.segments * args.kib / 1024
    print(f"recording: {args.segments} segments, {mib:.0f} MiB; median of {args.repeats}")
    print(f"full verify (every byte re-hashed): {t_full * 1000:.0f} ms")
    print(f"playback check (cached hashes):     {t_cached * 1000:.0f} ms  (ratio {t_full / t_cached:.1f}x)")


if __name__ == "__main__":
    main()
