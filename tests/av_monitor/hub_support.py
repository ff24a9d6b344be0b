"""Shared harness for the hub tests: the app served with a test hub, aiortc WHIP/WHEP peers, ledger reads.

The service runs in a thread (tests/e2e/support.serve) on a temporary SQLite database; a test drives
it from its own event loop with aiortc peers and httpx.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from av.frame import Frame
from av.packet import Packet
from sqlmodel import Session, col, select

from av_monitor import webrtc
from config import db
from config.settings import Settings
from ledger import verify
from ledger.models import LedgerEntry
from tests.api_support import PASSWORD
from tests.av_monitor.media_support import read_counter
from tests.e2e.support import serve

SDP = {"Content-Type": "application/sdp"}
NO_ICE = RTCConfiguration(iceServers=[])  # host candidates only: the test machine has no Internet


class Stalling(MediaStreamTrack):
    """A camera that sends `limit` frames of `source`, then nothing while the connection stays up."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, limit: int) -> None:
        super().__init__()
        self.source, self.limit, self.sent = source, limit, 0

    async def after_limit(self) -> None:
        await asyncio.Event().wait()

    async def recv(self) -> Frame | Packet:
        if self.sent >= self.limit:
            await self.after_limit()
        self.sent += 1
        return await self.source.recv()


class Ending(Stalling):
    """A publisher's track that ends (as a remote track does when its peer closes) after `limit` frames."""

    async def after_limit(self) -> None:
        self.stop()
        raise MediaStreamError


class FakeRecorder:
    """Notes what the hub asks of a recorder."""

    made: list[FakeRecorder] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[str] = []
        self.tracks: list[MediaStreamTrack] = []
        FakeRecorder.made.append(self)

    def add_track(self, track: MediaStreamTrack) -> None:
        self.calls.append(f"add:{track.kind}")
        self.tracks.append(track)

    def track_ended(self) -> None:
        self.calls.append("ended")

    async def stop(self) -> None:
        self.calls.append("stop")


def settings_for(tmp_path: Path) -> Settings:
    """Short segments and a quick stream-stopped alert, recordings under tmp_path."""
    return Settings(recording_directory=tmp_path / "recordings", recording_segment_seconds=1.0,
                    webrtc_stream_stopped_seconds=2.0, webrtc_max_viewers_per_room=2,
                    webrtc_recording_linger_seconds=1.5, recording_mode="always")  # nothing is scheduled here


@contextmanager
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, factory: Callable[..., Any] | None,
            settings: Settings | None = None) -> Iterator[tuple[str, webrtc.RoomHub]]:
    """The app served in a thread with a hub of test settings; the hub is shut down (the lead's hook) at the end."""
    hub = webrtc.RoomHub(settings=settings or settings_for(tmp_path), recorder_factory=factory)
    monkeypatch.setattr(webrtc, "_hub", hub)
    with serve(tmp_path, monkeypatch) as (base, _):
        try:
            yield base, hub
        finally:
            if hub.loop is not None and hub.loop.is_running():
                asyncio.run_coroutine_threadsafe(webrtc.shutdown(), hub.loop).result(30)
            else:
                hub.audit.close()
    assert webrtc._hub is None or not hub.loop, "shutdown() releases the hub"


async def login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await client.post("/api/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def publish(client: httpx.AsyncClient, headers: dict[str, str], tracks: list[MediaStreamTrack],
                  room: str = "MAIN-R1") -> tuple[RTCPeerConnection, str]:
    """A WHIP publisher: offer, 201 with the answer and the resource URL."""
    pc = RTCPeerConnection(NO_ICE)
    for track in tracks:
        pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    r = await client.post(f"/api/rooms/{room}/whip", content=pc.localDescription.sdp, headers={**headers, **SDP})
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/sdp")
    location = r.headers["location"]
    assert location.startswith(f"/api/rooms/{room}/whip/")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    return pc, location


async def watch(client: httpx.AsyncClient, headers: dict[str, str]
                ) -> tuple[RTCPeerConnection, str, dict[str, MediaStreamTrack]]:
    """A WHEP viewer of MAIN-R1 receiving audio and video."""
    pc = RTCPeerConnection(NO_ICE)
    got: dict[str, MediaStreamTrack] = {}
    pc.on("track", lambda t: got.__setitem__(t.kind, t))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    r = await client.post("/api/rooms/MAIN-R1/whep", content=pc.localDescription.sdp, headers={**headers, **SDP})
    assert r.status_code == 201, r.text
    await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    assert set(got) == {"audio", "video"}
    return pc, r.headers["location"], got


async def counter_at_least(track: MediaStreamTrack, first: int, size: tuple[int, int],
                           timeout: float = 15) -> list[int]:
    """Counters of received video frames, read until one of `size` shows a counter >= `first`."""
    seen: list[int] = []

    async def wait() -> list[int]:
        while True:
            frame = await track.recv()
            assert isinstance(frame, VideoFrame)
            number = read_counter(frame)
            if number is not None:
                seen.append(number)
                if number >= first and (frame.width, frame.height) == size:
                    return seen

    return await asyncio.wait_for(wait(), timeout)


async def until(check: Callable[[], Any], timeout: float = 15) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)


def entries(kind: str) -> list[LedgerEntry]:
    with Session(db.get_engine()) as s:
        return list(s.exec(select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(col(LedgerEntry.seq))))


def segment_facts() -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in entries("av.segment")]


def check_hashes(folder: Path, facts: list[dict[str, Any]]) -> None:
    """Every ledgered segment is a file of the recording whose SHA-256 is the ledgered one."""
    assert facts, "closed segments are ledgered"
    for f in facts:
        assert f["recording_id"] == folder.name
        assert hashlib.sha256((folder / f["file"]).read_bytes()).hexdigest() == f["sha256"], f["file"]
    assert [f["index"] for f in facts] == list(range(len(facts)))
    with Session(db.get_engine()) as s:
        assert verify(s).ok
