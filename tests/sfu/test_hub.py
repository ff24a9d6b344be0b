"""The SFU hub against the real Janus, in-process: refusals with their reasons, and recovery from what Janus lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from api import schema
from av_monitor.rooms import NotPublishing, OfferError, Unavailable
from av_monitor.sfu_hub import SfuHub
from config import db
from config.settings import Settings
from sfu.control import VIDEOROOM, janus_room
from sfu.janus_conf import JanusProcess
from tests.av_monitor.crash_support import NO_ICE
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack
from tests.sfu_fixtures import ADMIN_KEY

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
        row = await hub.db_call(state.get_peer, peer_id=session_id)
        assert isinstance(row, SfuPeer)
        await hub.janus.destroy(row.janus_session)
        assert await until_ended(hub, lambda: not hub.state(ROOM).publishing), "the lost session is forgotten"
        for pc in (first, second):
            await pc.close()
        await hub.close()

    asyncio.run(scenario())


def test_peers_that_leave_without_a_delete_are_ended(janus: JanusProcess, database: None) -> None:
    async def scenario() -> None:
        hub = SfuHub(settings=settings(janus.url))
        publisher, pub_sdp = await offer(publish=True)
        _, answer = await hub.publish(ROOM, pub_sdp, actor="term")
        await publisher.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        viewer, view_sdp = await offer(publish=False)
        _, answer = await hub.view(ROOM, view_sdp, actor="super")
        await viewer.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        assert await until(lambda: viewer.connectionState == "connected")
        assert hub.state(ROOM).viewers == 1
        await viewer.close()  # a closed tab: no DELETE
        assert await until_ended(hub, lambda: hub.state(ROOM).viewers == 0), "the hung-up viewer is still counted"
        assert hub.state(ROOM).publishing
        await publisher.close()
        assert await until_ended(hub, lambda: not hub.state(ROOM).publishing), "the hung-up publisher stays"
        await hub.close()

    asyncio.run(scenario())


async def until(check: Callable[[], bool], timeout: float = 20) -> bool:
    for _ in range(int(timeout / 0.2)):
        if check():
            return True
        await asyncio.sleep(0.2)
    return check()


async def until_ended(hub: SfuHub, check: Callable[[], bool], timeout: float = 20) -> bool:
    """Run keepalive passes (they start the pollers that read the hang-ups) until `check` holds."""
    for _ in range(int(timeout / 0.5)):
        await hub.keep_alive_once()
        if check():
            return True
        await asyncio.sleep(0.5)
    return False


def test_a_camera_that_stops_raises_an_alert_and_clears_it(janus: JanusProcess, database: None) -> None:
    """Janus says when the camera carried nothing for its no_media_timer (2 s here): av.alert, stalled state."""
    from sqlmodel import Session, select

    from config import db as config_db
    from ledger.models import LedgerEntry
    from tests.av_monitor.hub_support import Stalling

    async def scenario() -> None:
        hub = SfuHub(settings=settings(janus.url))
        camera = Stalling(CounterVideoTrack(), limit=30)  # 2 s of video, then nothing, the connection up
        publisher = RTCPeerConnection(NO_ICE)
        for track in (camera, ToneAudioTrack()):
            publisher.addTransceiver(track, direction="sendonly")
        await publisher.setLocalDescription(await publisher.createOffer())
        _, answer = await hub.publish(ROOM, publisher.localDescription.sdp, actor="term")
        await publisher.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        assert await until_ended(hub, lambda: hub.state(ROOM).stalled, timeout=20), "no alert for the stopped camera"
        state = hub.state(ROOM)
        assert state.publishing and [a.reason for a in state.alerts] == ["no_frames"]
        await hub.close()  # flushes the ledger writer
        with Session(config_db.get_engine()) as s:
            kinds = [e.kind for e in s.exec(select(LedgerEntry)).all()]
        assert kinds.count("av.alert") == 1, kinds
        await publisher.close()

    asyncio.run(scenario())
