"""kill -9 of the service while it records: the segments before the kill play and match the ledger.

The real service (`python -m api.cli serve`) runs as a child process on a temporary SQLite database
with 1-second segments. The room's terminal publishes a frame counter and a tone over WHIP; once at
least three `av.segment` entries are in the ledger the process gets SIGKILL (no shutdown hook runs).
Then every ledgered segment is on disk with its SHA-256, the playlist reads, and the init segment
plus the ledgered segments decode with rising counters. The service restarts on the same database
and recording directory, the ledger chain verifies, and a new publish records without touching the
files of the killed recording.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiortc import RTCPeerConnection
from sqlalchemy import create_engine
from sqlmodel import Session

from av_monitor.rec_segments import PLAYLIST_NAME, Playlist
from av_monitor.rec_verify import verify as recordings_verify
from tests.av_monitor.crash_support import Service, ledger_payloads, login, prepare_database, publish
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack, decode_bytes

ROOM = "MAIN-R1"


async def wait_for(check: Callable[[], Any], timeout: float) -> Any:
    """Poll `check` (a plain function) until it returns something truthy or `timeout` passes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.25)


async def record_segments(service: Service, database: Path, *, more_than: int, first: int) -> RTCPeerConnection:
    """Publish counter video + tone to ROOM until 3 segments beyond `more_than` are ledgered; the peer stays up."""
    async with httpx.AsyncClient(base_url=service.base, timeout=30) as c:
        headers = await login(c, "term1")
        pc, _ = await publish(c, headers, [CounterVideoTrack(first=first), ToneAudioTrack()], ROOM)
        try:
            got = await wait_for(lambda: len(ledger_payloads(database, "av.segment")) > more_than + 2, 40)
            assert got, f"fewer than 3 new av.segment entries within 40 s:\n{service.log.read_text()[-3000:]}"
        except BaseException:
            await pc.close()
            raise
        return pc


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every finished file of a recording folder (not the *.tmp of an interrupted write)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if not p.name.endswith(".tmp")}


def check_with_recordings_verify(database: Path, recordings: Path, recording_id: str,
                                 facts: list[dict[str, Any]]) -> None:
    """`av_monitor.rec_verify.verify` (the console's check) agrees: every ledgered segment is there, unaltered.

    A segment closed in the instant before the kill may be on disk (and listed) while its queued
    ledger write was lost; it can only show as unledgered, and only at the end of the recording.
    """
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as s:
            report = recordings_verify(s, room=ROOM, recording_id=recording_id, base=recordings)
    finally:
        engine.dispose()
    assert report.checked == len(facts) and not (report.missing or report.altered or report.index_gaps
                                                 or report.extra), report.as_dict()
    unaccounted = report.unledgered + report.pending  # pending: the one in flight while the playlist is open
    if unaccounted:
        tail = {f"seg-{i:06d}.m4s" for i in range(len(facts), len(facts) + len(unaccounted))}
        assert set(unaccounted) == tail, report.as_dict()
    else:
        assert report.ok, report.as_dict()


def test_kill_9_while_recording_keeps_ledgered_segments(tmp_path: Path) -> None:
    database, recordings = tmp_path / "crash.db", tmp_path / "recordings"
    prepare_database(database)
    service = Service(database, recordings, tmp_path / "service.log", segment_seconds=1.0)

    async def killed_run() -> None:
        peer = await record_segments(service, database, more_than=0, first=0)
        status = service.kill()  # with the publisher still sending
        await peer.close()
        assert status == -9, status

    service.start()
    try:
        asyncio.run(killed_run())
    finally:
        service.stop()

    facts = ledger_payloads(database, "av.segment")
    [recording_id] = {f["recording_id"] for f in facts}
    folder = recordings / ROOM / recording_id
    # Every segment the ledger names survived the kill byte for byte, numbered from 0 without holes.
    assert [f["index"] for f in facts] == list(range(len(facts)))
    for f in facts:
        assert hashlib.sha256((folder / f["file"]).read_bytes()).hexdigest() == f["sha256"], f["file"]
    # The playlist on disk reads (it is rewritten atomically); it has no end mark since nothing finished it.
    playlist = Playlist.load(folder / PLAYLIST_NAME, target_seconds=1)
    assert playlist.entries and not playlist.ended
    # Ledger writes are queued off the recorder's thread, so the ledger and the playlist each hold a
    # prefix of the closed segments: one of the two lists starts with the other.
    ledgered, listed = [f["file"] for f in facts], [e.name for e in playlist.entries]
    shorter = min(len(ledgered), len(listed))
    assert ledgered[:shorter] == listed[:shorter], (ledgered, listed)
    [init] = {e.init_name for e in playlist.entries}  # one publish, one run
    for entry in playlist.entries:  # each listed segment plays from the init segment (an HLS player's seek)
        run = decode_bytes((folder / init).read_bytes() + (folder / entry.name).read_bytes())
        assert run.video and run.video[0][2], f"{entry.name} does not start with a keyframe"
    whole = decode_bytes((folder / init).read_bytes() + b"".join((folder / f["file"]).read_bytes() for f in facts))
    counters = [n for _, n, _ in whole.video if n is not None]
    assert len(counters) >= 2 * 15, "at least ~2 s of readable frames in the ledgered segments"
    assert counters == sorted(counters) and len(set(counters)) == len(counters)
    check_with_recordings_verify(database, recordings, recording_id, facts)
    before = file_hashes(folder)

    # Restart on the same database and directory: it starts, the chain verifies, a new publish records.
    service.start()
    try:
        verified = service.cli("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr

        async def second_run() -> None:
            peer = await record_segments(service, database, more_than=len(facts), first=3000)
            async with httpx.AsyncClient(base_url=service.base, timeout=30) as c:
                sup = await login(c, "super")
                state = (await c.get(f"/api/rooms/{ROOM}/stream", headers=sup)).json()
                assert state["publishing"] and state["recording"], state
            await peer.close()

        asyncio.run(second_run())
    finally:
        service.stop()

    verified = service.cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    after = ledger_payloads(database, "av.segment")
    assert after[:len(facts)] == facts, "the old entries are untouched"
    new = after[len(facts):]
    after_files = file_hashes(folder)
    for name, digest in before.items():
        if name != PLAYLIST_NAME:
            assert after_files.get(name) == digest, f"{name} of the killed recording changed"
    for f in facts:  # still playable and matching
        assert hashlib.sha256((folder / f["file"]).read_bytes()).hexdigest() == f["sha256"]
    check_with_recordings_verify(database, recordings, recording_id, facts)
    if {f["recording_id"] for f in new} == {recording_id}:
        # The recording went on: a new run after a discontinuity, numbered after the old segments.
        assert new[0]["gap_before"] and new[0]["index"] == len(facts)
    else:
        [other] = {f["recording_id"] for f in new}
        assert [f["index"] for f in new] == list(range(len(new)))
        assert before == after_files, "a new recording leaves the killed one as it was"
        folder = recordings / ROOM / other
    # The new segments decode too and carry the new publisher's counters.
    playlist = Playlist.load(folder / PLAYLIST_NAME, target_seconds=1)
    init = next(e.init_name for e in playlist.entries if e.name == new[0]["file"])
    run = decode_bytes((folder / init).read_bytes() + b"".join((folder / f["file"]).read_bytes() for f in new))
    assert any(n is not None and n >= 3000 for _, n, _ in run.video)
