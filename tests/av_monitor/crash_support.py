"""The real service in its own process, for the kill -9 crash test and the A/V benchmark.

`prepare_database` builds a SQLite database with the tiny day (plus, on request, a site BENCH with
more rooms) and the test users of tests/api_support.py, one terminal user `term-<room>` per extra
room. `Service` starts `python -m api.cli serve` on it with the recording settings in the
environment (recording_mode "always": the tiny day's evaluation is not on the real clock's schedule),
waits for /health, and can be killed (SIGKILL) or stopped (SIGTERM).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path
from typing import Any

import httpx
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from sqlalchemy import create_engine
from sqlmodel import Session, col, select

from access.models import UserCreate
from accounts.service import create_user
from api import schema
from api.migrate import stamp
from config import db
from evaluation.importer import import_instance
from ledger.models import LedgerEntry
from tests.api_support import PASSWORD, seed_users
from tests.e2e.support import free_port
from tests.factories_instance import site, tiny_day

ROOT = Path(__file__).resolve().parents[2]
SDP = {"Content-Type": "application/sdp"}
NO_ICE = RTCConfiguration(iceServers=[])  # host candidates only: the machines have no Internet


def prepare_database(path: Path, *, extra_rooms: int = 0) -> list[str]:
    """Create the database at `path`; return the codes of the rooms that have a terminal user.

    MAIN-R1's terminal is `term1`; every room of the site BENCH gets `term-<room code>`.
    """
    doc, *_ = tiny_day()
    if extra_rooms:
        doc["sites"].append(site("BENCH", 36.5, 117.3, seats=(4,) * extra_rooms))
    engine = db.make_engine(f"sqlite:///{path}")
    schema.create_all(engine)
    stamp(engine)
    rooms = ["MAIN-R1"]
    with Session(engine) as session:
        import_instance(session, doc)
        session.commit()
        seed_users(session)
        for i in range(extra_rooms):
            code = f"BENCH-R{i + 1}"
            create_user(session, data=UserCreate.model_validate(
                {"username": f"term-{code}", "password": PASSWORD, "role": "terminal", "room_code": code,
                 "site_codes": ["BENCH"]}))
            rooms.append(code)
        session.commit()
    engine.dispose()
    return rooms


def terminal_of(room: str) -> str:
    """The user name of `room`'s terminal in a database made by `prepare_database`."""
    return "term1" if room == "MAIN-R1" else f"term-{room}"


class Service:
    """`yidi serve` as a child process on `database` with recordings under `recordings`."""

    def __init__(self, database: Path, recordings: Path, log: Path, *, segment_seconds: float = 1.0,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "YIDI_DATABASE_URL": f"sqlite:///{database}",
                    "YIDI_RECORDING_DIRECTORY": str(recordings), "YIDI_JOBS_ENABLED": "false",
                    "YIDI_RECORDING_SEGMENT_SECONDS": str(segment_seconds), "YIDI_PORT": str(self.port),
                    "YIDI_HOST": "127.0.0.1", "YIDI_RECORDING_MODE": "always", **(extra_env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The service process's id."""
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 90) -> None:
        """Start the process and wait until /health answers 200."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the service did not start:\n{self.log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.3)

    def kill(self) -> int:
        """SIGKILL the process (no shutdown hook runs) and reap it; returns its exit status."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `yidi <args>` against the same database."""
        return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)


async def login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    """Bearer headers of `user` (password of tests/api_support.py)."""
    r = await client.post("/api/auth/token", data={"username": user, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def publish(client: httpx.AsyncClient, headers: dict[str, str], tracks: list[MediaStreamTrack],
                  room: str, *, video_codec: str | None = None) -> tuple[RTCPeerConnection, str]:
    """A WHIP publisher of `tracks` to `room`; returns the peer and its session URL.

    `video_codec` (e.g. "video/VP8") restricts the video transceiver to that codec, as a track that
    sends already-encoded packets needs.
    """
    from aiortc import RTCRtpSender

    pc = RTCPeerConnection(NO_ICE)
    for track in tracks:
        transceiver = pc.addTransceiver(track, direction="sendonly")
        if video_codec and track.kind == "video":
            codecs = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType == video_codec])
    await pc.setLocalDescription(await pc.createOffer())
    r = await client.post(f"/api/rooms/{room}/whip", content=pc.localDescription.sdp, headers={**headers, **SDP})
    if r.status_code != 201:
        await pc.close()
        raise RuntimeError(f"WHIP {room}: {r.status_code} {r.text}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    return pc, r.headers["location"]


# Frames each viewer of `watch` received, by kind (its peer connection -> {"video": n, "audio": n}).
RECEIVED: weakref.WeakKeyDictionary[RTCPeerConnection, dict[str, int]] = weakref.WeakKeyDictionary()


class _CountingSink:
    """Stands in for an aiortc receiver's decoder queue: counts the reassembled frames, decodes none."""

    def __init__(self, inner: queue.Queue[Any], counts: dict[str, int], kind: str) -> None:
        self._inner, self._counts, self._kind = inner, counts, kind

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            self._inner.put(None)  # lets the receiver's decoder thread end
        else:
            self._counts[self._kind] += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def watch(client: httpx.AsyncClient, headers: dict[str, str], room: str,
                layer: str = "full", *, decode: bool = True, endpoint: str | None = None
                ) -> tuple[RTCPeerConnection, str]:
    """A WHEP viewer of `room` receiving audio and video of `layer`, decoding as a browser would unless not `decode`.

    A viewer that does not decode (a headless subscriber) only counts the frames it receives; both
    kinds count in `RECEIVED[pc]`. `endpoint` replaces the room's WHEP URL (a public opening's link).
    """
    import asyncio

    pc = RTCPeerConnection(NO_ICE)
    counts = RECEIVED[pc] = {"video": 0, "audio": 0}
    drains: list[asyncio.Task[None]] = []

    async def drain(track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                counts[track.kind] += 1
        except Exception:  # noqa: BLE001 - the track ends when the peer closes
            return

    pc.on("track", lambda t: drains.append(asyncio.ensure_future(drain(t))))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    r = await client.post(endpoint or f"/api/rooms/{room}/whep?layer={layer}", content=pc.localDescription.sdp,
                          headers={**headers, **SDP})
    if r.status_code != 201:
        await pc.close()
        raise RuntimeError(f"WHEP {room}: {r.status_code} {r.text}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    if not decode:
        for transceiver in pc.getTransceivers():
            receiver, name = transceiver.receiver, "_RTCRtpReceiver__decoder_queue"
            setattr(receiver, name, _CountingSink(getattr(receiver, name), counts, transceiver.kind))
    return pc, r.headers["location"]


def ledger_payloads(database: Path, kind: str) -> list[dict[str, Any]]:
    """Payloads of the ledger entries of `kind`, in ledger order, read straight from the database file."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as s:
            rows = s.exec(select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(col(LedgerEntry.seq)))
            return [json.loads(e.payload) for e in rows]
    finally:
        engine.dispose()
