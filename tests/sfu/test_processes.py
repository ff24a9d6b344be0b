"""The SFU back end with two real service processes on one database and a real Janus.

A terminal publishes a frame counter and a tone through process A; a supervisor watches the room
through process B, and gets frames forwarded by Janus (none through either process). Process A is
killed (SIGKILL): the publisher goes on publishing and the viewer goes on receiving past Janus's
session timeout, because B keeps A's sessions alive; B ends A's publishing session on DELETE.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from sfu.janus_conf import JanusProcess
from tests.av_monitor.crash_support import RECEIVED, Service, login, prepare_database, publish, watch
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack
from tests.sfu_fixtures import SESSION_TIMEOUT, sfu_env

ROOM = "MAIN-R1"


async def _frames_grow(pc: object, kind: str, more: int, timeout: float) -> bool:
    start = RECEIVED[pc][kind]  # type: ignore[index]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if RECEIVED[pc][kind] >= start + more:  # type: ignore[index]
            return True
        await asyncio.sleep(0.2)
    return False


def test_a_viewer_on_b_watches_a_room_published_on_a_and_survives_a_kill(tmp_path: Path,
                                                                         janus: JanusProcess) -> None:
    database = tmp_path / "yidi.db"
    prepare_database(database)
    env = sfu_env(janus)
    a = Service(database, tmp_path / "rec", tmp_path / "a.log", extra_env=env)
    b = Service(database, tmp_path / "rec", tmp_path / "b.log", extra_env=env)
    a.start()
    b.start()

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=a.base, timeout=30) as ca, \
                httpx.AsyncClient(base_url=b.base, timeout=30) as cb:
            terminal = await login(ca, "term1")
            publisher, location = await publish(ca, terminal, [CounterVideoTrack(), ToneAudioTrack()], ROOM,
                                                video_codec="video/H264")
            supervisor = await login(cb, "super")
            state = (await cb.get(f"/api/rooms/{ROOM}/stream", headers=supervisor)).json()
            assert state["publishing"] is True and state["publisher_session"] == location.rsplit("/", 1)[1]
            viewer, viewing = await watch(cb, supervisor, ROOM)
            assert await _frames_grow(viewer, "video", 20, 20), f"no video through the SFU: {RECEIVED[viewer]}"
            assert await _frames_grow(viewer, "audio", 20, 10), f"no audio through the SFU: {RECEIVED[viewer]}"
            assert (await ca.get(f"/api/rooms/{ROOM}/stream", headers=await login(ca, "super"))
                    ).json()["viewers"] == 1  # A knows of B's viewer

            a.kill()
            await asyncio.sleep(SESSION_TIMEOUT + 4)  # A's Janus sessions would have timed out by now
            assert await _frames_grow(viewer, "video", 30, 10), "the publishing stopped when A died"
            assert publisher.connectionState == "connected"

            # B serves the DELETE of A's publishing session (same URL, any process).
            r = await cb.delete(location, headers=await login(cb, "term1"))
            assert r.status_code == 200, r.text
            state = (await cb.get(f"/api/rooms/{ROOM}/stream", headers=supervisor)).json()
            assert state["publishing"] is False and state["viewers"] == 0
            assert (await cb.delete(viewing, headers=supervisor)).status_code == 404  # ended with its publisher
            await viewer.close()
            await publisher.close()

    try:
        asyncio.run(scenario())
    finally:
        a.stop()
        b.stop()
