"""The SFU hub against the real Janus, in-process: refusals with their reasons, and recovery from what Janus lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

from api import schema
from av_monitor.rooms import NotPublishing, OfferError, Unavailable
from av_monitor.sfu_hub import SfuHub
from config import db
from config.settings import Settings
from sfu.control import VIDEOROOM, janus_room
from sfu.janus_conf import JanusProcess
from tests.av_monitor.crash_support import NO_ICE
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack
from tests.sfu.conftest import ADMIN_KEY

ROOM = "HUB-R1"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'sfu.db'}")
    schema.create_all(engine)
    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    yield
    engine.dispose()


def settings(url: str) -> Settings:
    return Settings(av_backend="janus", sfu_janus_url=url, sfu_admin_key=ADMIN_KEY, sfu_keepalive_seconds=30)


async def offer(*, publish: bool) -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection(NO_ICE)
    if publish:
        for track in (CounterVideoTrack(), ToneAudioTrack()):
            pc.addTransceiver(track, direction="sendonly")
    else:
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


def test_refusals_name_what_is_wrong(janus: JanusProcess, database: None) -> None:
    async def scenario() -> None:
        hub = SfuHub(settings=settings(janus.url))
        viewer, view_sdp = await offer(publish=False)
        with pytest.raises(NotPublishing, match="not publishing"):
            await hub.view(ROOM, view_sdp, actor="super")
        with pytest.raises(OfferError) as caught:
            await hub.publish(ROOM, "not an SDP offer", actor="term")
        assert caught.value.field == "sdp"
        publisher, pub_sdp = await offer(publish=True)
        session_id, _ = await hub.publish(ROOM, pub_sdp, actor="term")
        no_h264 = "\r\n".join(line for line in view_sdp.split("\r\n") if "H264" not in line)
        with pytest.raises(OfferError, match="no H.264"):
            await hub.view(ROOM, no_h264, actor="super")
        assert hub.state(ROOM).viewers == 0  # nothing half-made is left counted
        assert await hub.unpublish(ROOM, session_id) and not await hub.unpublish(ROOM, session_id)
        for pc in (viewer, publisher):
            await pc.close()
        await hub.close()

        down = SfuHub(settings=settings("http://127.0.0.1:9/janus"))  # nothing listens there
        _, pub_sdp = await offer(publish=True)
        with pytest.raises(Unavailable, match="cannot be reached"):
            await down.publish(ROOM, pub_sdp, actor="term")
        await down.close()

    asyncio.run(scenario())


def test_a_room_or_session_janus_lost_is_recovered(janus: JanusProcess, database: None) -> None:
    async def scenario() -> None:
        hub = SfuHub(settings=settings(janus.url))
        first, sdp1 = await offer(publish=True)
        session_id, _ = await hub.publish(ROOM, sdp1, actor="term")
        await hub.unpublish(ROOM, session_id)
        # As after a Janus restart: the room is gone, though this process made it before.
        await hub.control.request(VIDEOROOM, {"request": "destroy", "room": janus_room(ROOM)})
        second, sdp2 = await offer(publish=True)
        session_id, answer = await hub.publish(ROOM, sdp2, actor="term")
        assert "a=recvonly" in answer and hub.state(ROOM).publishing
        # The publisher's Janus session ends behind the service's back: the keepalive pass forgets it.
        peer = hub.state(ROOM).publisher_session
        assert peer == session_id
        from sfu import service as state
        from sfu.models import SfuPeer
        row = await hub._db(state.get_peer, peer_id=session_id)
        assert isinstance(row, SfuPeer)
        await hub.janus.destroy(row.janus_session)
        assert await hub.keep_alive_once() == 1
        assert not hub.state(ROOM).publishing
        for pc in (first, second):
            await pc.close()
        await hub.close()

    asyncio.run(scenario())
