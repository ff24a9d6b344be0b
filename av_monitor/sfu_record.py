"""Recording through the SFU: Janus records, one service process turns it into the room's segments.

For each room to record, the processes share a lease (sfu.models.SfuRecorder, renewed every
`SfuRecordings.PASS_SECONDS`). Its holder asks Janus to record the room's publisher into .mjr
files (`<recording_directory>/.janus/<room>/<publisher session>-<recording>-<kind>-<m-line>.mjr`;
Janus writes them whatever happens to the service; they are removed once recorded) and feeds
them, through `MjrTrack`, to the same RoomRecorder as the embedded back end: H.264 and Opus
remuxed into fMP4/HLS segments, each hashed and ledgered before it is listed, so verify and
playback are unchanged. If the holder dies (kill -9), the lease runs out and another process
takes the room over in a new recording (Janus is told to start new files for it): the seconds in
between stay in the dead process's files but not in a recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from av_monitor.recorder import RoomRecorder, SegmentInfo
from av_monitor.rooms import new_recording_id
from av_monitor.sfu_tracks import MjrTrack
from config.settings import Settings
from sfu import service as state
from sfu.janus import JanusClient, JanusError
from sfu.models import SfuPeer

logger = logging.getLogger(__name__)
KEYFRAME_INTERVAL = 1.0
SPOOL = ".janus"
MINDEX = re.compile(r"-(audio|video)-(\d+)\.mjr$")


def spool(settings: Settings, code: str) -> Path:
    """Where Janus writes a room's .mjr files: beside the recordings, never listed as one (a dot folder)."""
    return Path(settings.recording_directory) / SPOOL / code


@dataclass
class Held:
    """A room this process records: its recorder, the publisher followed, the tracks read."""

    recorder: RoomRecorder
    recording_id: str
    publisher: SfuPeer | None = None
    base: Path | None = None  # the publisher's .mjr files, until they are found
    tracks: list[MjrTrack] = field(default_factory=list)
    ending: list[MjrTrack] = field(default_factory=list)  # the previous publisher's, draining


class SfuRecordings:
    """The rooms this process wants recorded, and those whose lease it holds."""

    PASS_SECONDS = 2.0

    def __init__(self, *, settings: Settings, janus: JanusClient, run_db: Callable[..., Awaitable[Any]],
                 on_segment: Callable[[SegmentInfo], None]) -> None:
        self.settings, self.janus, self._db, self._on_segment = settings, janus, run_db, on_segment
        self.token = secrets.token_hex(8)
        self.wanted: set[str] = set()
        self.held: dict[str, Held] = {}
        self.lease_seconds = max(3 * self.PASS_SECONDS, settings.sfu_recording_lease_seconds)
        self._asked: dict[str, float] = {}  # publisher -> when a keyframe was last asked of it

    async def pass_once(self) -> None:
        """Renew or take the leases of the wanted rooms, follow their publishers; stop what is not wanted."""
        for code in [c for c in self.held if c not in self.wanted]:
            await self.finish(code)
        if not self.wanted:
            return
        now = datetime.now(UTC)
        until = now + timedelta(seconds=self.lease_seconds)
        # One write for the leases held, and a claim only where a lease is missing or ran out: the
        # processes that do not record a room do not write for it.
        kept, free = await self._db(state.renew_recordings, holder=self.token, rooms=sorted(self.wanted),
                                    now=now, until=until)
        for code in free:
            lease = await self._db(state.claim_recording, room_code=code, holder=self.token,
                                   recording_id=new_recording_id(now), now=now, until=until)
            if lease is not None and lease.holder == self.token:
                kept[code] = lease.recording_id
        for code in [c for c in self.held if c not in kept]:  # this process stalled past its lease
            logger.warning("room %s: recording lease lost to another process", code)
            await self.finish(code, release=False)
        if not kept:
            return
        publishers: dict[str, SfuPeer] = {}
        for peer in await self._db(state.peers, role="publisher"):  # oldest first: the latest wins
            publishers[peer.room_code] = peer
        for code, recording_id in sorted(kept.items()):
            held = self.held.get(code) or self._open(code, recording_id)
            await self._follow(code, held, publishers.get(code))

    def _open(self, code: str, recording_id: str) -> Held:
        recorder = RoomRecorder(room_code=code, directory=Path(self.settings.recording_directory) / code,
                                recording_id=recording_id, settings=self.settings, on_segment=self._on_segment)
        logger.info("room %s: recording %s started through the SFU", code, recording_id)
        held = self.held[code] = Held(recorder, recording_id)
        return held

    async def _follow(self, code: str, held: Held, publisher: SfuPeer | None) -> None:
        if held.ending and all(t.readyState == "ended" for t in held.ending):
            held.recorder.track_ended()  # the old publisher's files are read to their end
            held.ending = []
        if held.publisher is not None and (publisher is None or publisher.id != held.publisher.id):
            for track in held.tracks:
                track.end()
            held.ending, held.tracks, held.publisher, held.base = held.ending + held.tracks, [], None, None
        if publisher is not None and held.publisher is None:
            base = spool(self.settings, code) / f"{publisher.id}-{held.recording_id}"
            base.parent.mkdir(parents=True, exist_ok=True)
            try:
                # Off first: files a process that died was being fed are closed, and new ones opened for this
                # recording (Janus keeps its files while recording, whatever filename it is sent).
                await self._configure(publisher, {"record": False})
                await self._configure(publisher, {"record": True, "filename": str(base)})
            except JanusError as exc:
                logger.warning("room %s: Janus does not record the publisher: %s", code, exc)
                return
            held.publisher, held.base = publisher, base
        if held.base is not None and publisher is not None:
            self._start_tracks(code, held, publisher)

    def _start_tracks(self, code: str, held: Held, publisher: SfuPeer) -> None:
        assert held.base is not None
        found: dict[str, list[tuple[int, Path]]] = {"audio": [], "video": []}
        for path in held.base.parent.glob(held.base.name + "-*.mjr"):
            match = MINDEX.search(path.name)
            if match:
                found[match.group(1)].append((int(match.group(2)), path))
        if not found["video"] and not found["audio"]:
            return  # not created yet: the next pass looks again
        for kind in ("video", "audio"):
            if not found[kind]:
                continue
            path = min(found[kind])[1]  # the first video is the camera; the second, the low layer, is not kept
            track = MjrTrack(path, kind, keyframe=functools.partial(self._keyframe, publisher))
            held.tracks.append(track)
            held.recorder.add_track(track)
        held.base = None
        logger.info("room %s: recording Janus's %s", code, ", ".join(t.reader.path.name for t in held.tracks))

    async def _configure(self, publisher: SfuPeer, body: dict[str, Any]) -> None:
        # Not awaited: the publisher's session is every process's, and its events go to whichever poller asks.
        await self.janus.send(publisher.janus_session, publisher.janus_handle, {"request": "configure", **body})

    def _keyframe(self, publisher: SfuPeer) -> None:
        # The recorder asks on every frame once a cut is due, until a keyframe comes: one request a second
        # at most (Janus also asks every sfu_keyframe_seconds on its own).
        now = time.monotonic()
        if now - self._asked.get(publisher.id, -KEYFRAME_INTERVAL) < KEYFRAME_INTERVAL:
            return
        self._asked[publisher.id] = now

        async def ask() -> None:
            with contextlib.suppress(JanusError):
                await self._configure(publisher, {"keyframe": True})
        asyncio.ensure_future(ask())

    async def finish(self, code: str, *, release: bool = True) -> None:
        """Stop recording the room here: the recorder finishes its playlist; the lease is given up."""
        held = self.held.pop(code, None)
        if held is None:
            return
        for track in held.tracks + held.ending:
            track.end()
        if held.publisher is not None:
            with contextlib.suppress(JanusError):  # the publisher may be gone already
                await self._configure(held.publisher, {"record": False})
        try:
            await held.recorder.stop()
        except Exception:
            logger.exception("room %s: the recorder did not stop cleanly", code)
        # Janus's files are in the recording now; a dead process's (a takeover's gap) are left where they are.
        for track in held.tracks + held.ending:
            track.reader.path.unlink(missing_ok=True)
        if release:
            await self._db(state.release_recording, room_code=code, holder=self.token)
        logger.info("room %s: recording %s finished", code, held.recording_id)
