"""Anonymous viewers of a public bid opening over real aiortc peers (the app served by uvicorn).

MAIN-R1 is made a bid-opening room with an opening on now; its terminal publishes, viewers with no
login watch through the link's WHEP endpoint, count against their own limit (staff still get in),
add to the opening's counts, and are disconnected once the link is revoked.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from sqlmodel import Session, select

from av_monitor import public
from config import db
from openings import service
from openings.models import PublicOpening
from tests.api_support import BEFORE_START
from tests.av_monitor.hub_support import (
    NO_ICE,
    SDP,
    counter_at_least,
    login,
    publish,
    running,
    settings_for,
    until,
    watch,
)
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack
from venues.models import Room


def _open_now() -> str:
    """Make MAIN-R1 a bid-opening room with an opening on now; its link's token."""
    with Session(db.get_engine()) as s:
        service.set_room_purpose(s, room_code="MAIN-R1", purpose="opening", actor="test", now=BEFORE_START)
        room = s.exec(select(Room).where(Room.code == "MAIN-R1")).one()
        assert room.id is not None
        opening = PublicOpening(room_id=room.id, title="开标", start=BEFORE_START + timedelta(minutes=10),
                                end=BEFORE_START + timedelta(hours=2), token="k" * 32, created_by="test")
        s.add(opening)
        s.commit()
        return opening.token


async def _anonymous(client: httpx.AsyncClient, token: str) -> tuple[RTCPeerConnection, httpx.Response, dict]:
    pc = RTCPeerConnection(NO_ICE)
    got: dict = {}
    pc.on("track", lambda t: got.__setitem__(t.kind, t))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    r = await client.post(f"/api/watch/{token}/whep", content=pc.localDescription.sdp, headers=SDP)
    if r.status_code == 201:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    return pc, r, got


def _counts() -> tuple[int, int]:
    with Session(db.get_engine()) as s:
        o = s.exec(select(PublicOpening)).one()
        return o.views, o.peak_viewers


def test_anonymous_viewers_watch_a_public_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "SWEEP_SECONDS", 0.3)
    settings = settings_for(tmp_path).model_copy(update={"opening_max_viewers": 2})
    with running(tmp_path, monkeypatch, None, settings) as (base, hub):
        token = _open_now()

        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                pub, _ = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack()])
                first, r1, got = await _anonymous(c, token)
                assert r1.status_code == 201, r1.text
                assert r1.headers["location"].startswith(f"/api/watch/{token}/whep/")
                assert await counter_at_least(got["video"], 10, (320, 240))
                second, r2, _ = await _anonymous(c, token)
                third, r3, _ = await _anonymous(c, token)
                assert r2.status_code == 201 and r3.status_code == 429, r3.text
                staff, _, _ = await watch(c, sup)  # a crowd never locks supervisors out
                state = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                assert state["viewers"] == 3 and state["public_viewers"] == 2
                assert _counts() == (2, 2)
                assert (await c.delete(r2.headers["location"])).status_code == 200
                # A public token ends only its own sessions, never a staff view.
                staff_id = next(p for room in hub.rooms.values() for p in room.viewers.values() if p.opening is None).id
                assert (await c.delete(f"/api/watch/{token}/whep/{staff_id}")).status_code == 404
                with Session(db.get_engine()) as s:
                    opening = s.exec(select(PublicOpening)).one()
                    service.revoke_opening(s, opening=opening, actor="test", now=BEFORE_START)
                    s.commit()

                async def swept() -> bool:
                    st = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                    return st["public_viewers"] == 0 and st["viewers"] == 1
                assert await until(swept, timeout=10), "the revoked link's viewer is disconnected"
                assert (await _anonymous(c, token))[1].status_code == 404
                for pc in (first, second, third, staff, pub):
                    await pc.close()

        asyncio.run(flow())
