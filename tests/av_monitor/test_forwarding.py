"""Viewers forward the publisher's encoded frames: no decode and no encode per viewer, keyframes on demand.

Real aiortc peers against the app under uvicorn (tests/av_monitor/hub_support.py's harness), plus unit
tests of av_monitor.forward's pieces with hand-made frames.
"""

from __future__ import annotations

import asyncio
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, Packet, VideoFrame

from av_monitor import webrtc
from av_monitor.forward import DECODER_QUEUE, Fanout, TeeQueue, is_keyframe, send_pli
from av_monitor.thumbs import thumb_size
from tests.av_monitor.hub_support import NO_ICE, SDP, FakeRecorder, login, publish, running, settings_for, until
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack, peak_frequency, read_counter


def _tee(hub: webrtc.RoomHub, kind: str) -> TeeQueue:
    room = hub.rooms["MAIN-R1"]
    assert room.publisher is not None
    for transceiver in room.publisher.pc.getTransceivers():
        if transceiver.kind == kind:
            tee = getattr(transceiver.receiver, DECODER_QUEUE)
            assert isinstance(tee, TeeQueue)
            return tee
    raise AssertionError(kind)


async def _watch(c: httpx.AsyncClient, headers: dict[str, str], *, video_mime: str | None = None,
                 layer: str = "full") -> tuple[RTCPeerConnection, dict[str, Any]]:
    pc = RTCPeerConnection(NO_ICE)
    got: dict[str, Any] = {}
    pc.on("track", lambda t: got.__setitem__(t.kind, t))
    video = pc.addTransceiver("video", direction="recvonly")
    if video_mime is not None:  # a viewer that takes only this codec
        video.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                   if c.mimeType.lower() in (video_mime, "video/rtx")])
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    r = await c.post(f"/api/rooms/MAIN-R1/whep?layer={layer}", content=pc.localDescription.sdp,
                     headers={**headers, **SDP})
    assert r.status_code == 201, r.text
    await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    return pc, got


async def _counters(track: Any, count: int, timeout: float = 15) -> list[int]:
    seen: list[int] = []

    async def read() -> list[int]:
        while len(seen) < count:
            frame = await track.recv()
            assert isinstance(frame, VideoFrame)
            number = read_counter(frame)
            if number is not None:
                seen.append(number)
        return seen

    return await asyncio.wait_for(read(), timeout)


async def _tone(track: Any, frames: int = 50) -> float:
    samples = []
    for _ in range(frames):
        frame = await asyncio.wait_for(track.recv(), 15)
        assert isinstance(frame, AudioFrame)
        samples.append(frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0])
    return peak_frequency(np.concatenate(samples).astype(np.float64), frame.sample_rate)


def test_viewers_forward_without_decoding_and_a_late_viewer_gets_a_keyframe(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(tmp_path).model_copy(update={"webrtc_record_while_publishing": False,
                                                         "webrtc_keyframe_min_interval_seconds": 0.2})
    with running(tmp_path, monkeypatch, None, settings) as (base, hub):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                pub, _ = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack()])
                first, got = await _watch(c, sup)
                seen = await _counters(got["video"], 20)
                assert seen == sorted(seen) and len(set(seen)) == len(seen), "forwarded frames in order"
                assert abs(await _tone(got["audio"]) - 1000) < 30, "the tone is forwarded intact"
                room = hub.rooms["MAIN-R1"]
                assert all(not vt.transcoding for p in room.viewers.values() for vt in p.tracks)
                requests = room.fanouts["video"].keyframe_requests
                await asyncio.sleep(1.0)  # the publisher is well past its first keyframe
                joined = time.monotonic()
                second, got2 = await _watch(c, sup)
                late = await _counters(got2["video"], 1)
                assert late[0] > seen[-1], "the late viewer sees the live picture"
                assert time.monotonic() - joined < 5
                assert room.fanouts["video"].keyframe_requests > requests, "the late viewer asked for a keyframe"
                assert room.fanouts["video"].frames >= len(seen)
                # Nobody needs pictures: the publisher's tracks were never decoded.
                assert _tee(hub, "video").decoded == 0 and _tee(hub, "audio").decoded == 0
                for pc in (first, second, pub):
                    await pc.close()

        asyncio.run(flow())


@pytest.mark.parametrize("codec", ["video/H264", "video/VP8"])
def test_the_recorder_remuxes_h264_packets_and_decodes_vp8_while_viewers_still_forward(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str) -> None:
    FakeRecorder.made.clear()
    settings = settings_for(tmp_path).model_copy(update={"webrtc_publish_video_codec": codec})
    with running(tmp_path, monkeypatch, FakeRecorder, settings) as (base, hub):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                # aiortc offers VP8 first: the hub takes the codec it prefers from the offer all the same.
                pub, _ = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack()])
                viewer, got = await _watch(c, sup)
                await _counters(got["video"], 10)
                room = hub.rooms["MAIN-R1"]
                assert room.fanouts["video"].mime == codec.lower()
                [recorder] = FakeRecorder.made
                video = next(t for t in recorder.tracks if t.kind == "video")
                item = await asyncio.wait_for(video.recv(), 15)
                if codec == "video/H264":
                    assert room.recorder_packets == {"video", "audio"}
                    assert isinstance(item, Packet) and item.is_keyframe, "the recorder starts at a keyframe"
                    assert _tee(hub, "video").decoded == 0, "nobody decodes the video"
                else:
                    assert not room.recorder_packets
                    assert isinstance(item, VideoFrame) and read_counter(item) is not None
                    assert _tee(hub, "video").decoded > 0
                remuxed = codec == "video/H264"
                assert (_tee(hub, "audio").decoded == 0) == remuxed, "Opus is remuxed with H.264, else transcoded"
                assert all(not vt.transcoding for p in room.viewers.values() for vt in p.tracks)
                for pc in (viewer, pub):
                    await pc.close()

        asyncio.run(flow())


def test_a_viewer_without_the_publishers_codec_is_transcoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(tmp_path).model_copy(update={"webrtc_record_while_publishing": False,
                                                         "webrtc_publish_video_codec": "video/VP8"})
    with running(tmp_path, monkeypatch, None, settings) as (base, hub):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                pub, _ = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack()])
                await asyncio.sleep(0.5)
                assert hub.rooms["MAIN-R1"].fanouts["video"].mime == "video/vp8"
                viewer, got = await _watch(c, sup, video_mime="video/h264")
                seen = await _counters(got["video"], 10, timeout=20)
                assert seen == sorted(seen)
                [peer] = hub.rooms["MAIN-R1"].viewers.values()
                assert {vt.kind: (vt.mime, vt.transcoding) for vt in peer.tracks} == {
                    "video": ("video/h264", True), "audio": ("audio/opus", False)}
                assert _tee(hub, "video").decoded > 0 and _tee(hub, "audio").decoded == 0
                for pc in (viewer, pub):
                    await pc.close()

        asyncio.run(flow())


async def _sizes(track: Any, count: int) -> set[tuple[int, int]]:
    sizes = set()
    for _ in range(count):
        frame = await asyncio.wait_for(track.recv(), 15)
        sizes.add((frame.width, frame.height))
    return sizes


def test_wall_tiles_share_one_small_encode_and_full_quality_is_forwarded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(tmp_path).model_copy(update={"webrtc_record_while_publishing": False,
                                                         "webrtc_thumbnail_width": 160,
                                                         "webrtc_max_viewers_per_room": 4})
    with running(tmp_path, monkeypatch, None, settings) as (base, hub):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                r = await c.post("/api/rooms/MAIN-R1/whep?layer=huge", content="v=0", headers={**sup, **SDP})
                assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "layer"
                pub, _ = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack()])
                tiles = [await _watch(c, sup, layer="thumb") for _ in range(2)]
                for _, got in tiles:
                    assert await _sizes(got["video"], 5) == {(160, 120)}, "a quarter-size picture"
                room = hub.rooms["MAIN-R1"]
                thumbs = room.thumbs
                assert thumbs is not None and len(thumbs.fanout.subscribers) == 2, "one encode for both tiles"
                full, got = await _watch(c, sup)
                assert await _sizes(got["video"], 5) == {(320, 240)}
                assert [vt.layer for p in room.viewers.values() for vt in p.tracks if vt.kind == "video"] == \
                    ["thumb", "thumb", "full"]
                assert _tee(hub, "video").decoded > 0, "the thumbnail needs the pictures"
                for pc, _ in tiles:
                    await pc.close()

                async def tiles_gone() -> bool:
                    return room.thumbs is None
                assert await until(tiles_gone), "the thumbnail stops with its last tile"
                for pc in (full, pub):
                    await pc.close()

        asyncio.run(flow())


def test_a_publishers_low_layer_is_forwarded_to_wall_tiles_without_a_thumbnail_encode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(tmp_path).model_copy(update={"webrtc_record_while_publishing": False})
    with running(tmp_path, monkeypatch, None, settings) as (base, hub):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                # The second video track of the offer is the low layer (as the camera page sends it).
                low = CounterVideoTrack(width=160, height=128, fps=5, first=3_000)
                pub, _ = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack(), low])
                tile, got = await _watch(c, sup, layer="thumb")
                assert await _sizes(got["video"], 4) == {(160, 128)}, "the tile shows the low layer"
                assert min(await _counters(got["video"], 3)) >= 3_000
                full, got_full = await _watch(c, sup)
                assert await _sizes(got_full["video"], 4) == {(320, 240)}, "full quality is the main track"
                assert max(await _counters(got_full["video"], 3)) < 3_000
                room = hub.rooms["MAIN-R1"]
                assert room.thumbs is None and set(room.sources) == {"audio", "video"}
                assert room.fanouts["thumb"].frames > 0 and len(room.fanouts["thumb"].subscribers) == 1
                assert all(not vt.transcoding for p in room.viewers.values() for vt in p.tracks)
                assert _tee(hub, "video").decoded == 0, "nothing is decoded for the wall"
                for pc in (tile, full, pub):
                    await pc.close()

        asyncio.run(flow())


# --- units --------------------------------------------------------------------------------------


@dataclass
class _Codec:
    mimeType: str  # noqa: N815 (aiortc's name)


@dataclass
class _Frame:
    data: bytes
    timestamp: int


class _Receiver:
    def __init__(self) -> None:
        self.plis: list[int] = []

    def getSynchronizationSources(self) -> list[Any]:  # noqa: N802 (aiortc's name)
        return [type("S", (), {"source": 1234})()]

    async def _send_rtcp_pli(self, ssrc: int) -> None:
        self.plis.append(ssrc)


VP8_KEY, VP8_DELTA = b"\x10\x02\x00\x9d\x01\x2a", b"\x11\x02\x00"


def test_thumbnail_sizes_keep_the_proportion_and_are_even() -> None:
    assert thumb_size(640, 480, 320) == (320, 240) and thumb_size(1280, 720, 320) == (320, 180)
    assert thumb_size(200, 150, 320) == (200, 150) and thumb_size(641, 481, 321) == (320, 240)


def test_keyframes_are_recognised() -> None:
    assert is_keyframe("video/VP8", VP8_KEY) and not is_keyframe("video/VP8", VP8_DELTA)
    idr = b"\x00\x00\x00\x01\x67\x42" + b"\x00\x00\x00\x01\x68\xce" + b"\x00\x00\x00\x01\x65\x88"
    assert is_keyframe("video/H264", idr) and not is_keyframe("video/H264", b"\x00\x00\x00\x01\x41\x9a")
    assert is_keyframe("audio/opus", b"\xfc")


def test_a_viewer_starts_at_a_keyframe_and_a_slow_one_drops_to_the_next() -> None:
    async def run() -> None:
        receiver = _Receiver()
        fanout = Fanout(kind="video", mime="video/VP8", clock_rate=90_000, ask_keyframe=lambda: send_pli(receiver),
                        on_frame=lambda: None, min_keyframe_interval=0.0)
        source = fanout.subscribe()
        await asyncio.sleep(0)
        assert receiver.plis == [1234], "joining asks the publisher for a keyframe"
        codec = _Codec("video/VP8")
        fanout.push(codec, _Frame(VP8_DELTA, 0))  # not decodable on its own: dropped
        fanout.push(codec, _Frame(VP8_KEY, 3000))
        fanout.push(codec, _Frame(VP8_DELTA, 6000))
        packets = [await source.recv(), await source.recv()]
        assert [bytes(p) for p in packets] == [VP8_KEY, VP8_DELTA] and [p.pts for p in packets] == [3000, 6000]
        assert packets[0].time_base.denominator == 90_000
        for n in range(200):  # the viewer reads nothing: its queue fills, it drops to a keyframe
            fanout.push(codec, _Frame(VP8_DELTA, 9000 + n))
        await asyncio.sleep(0)
        assert source._queue.qsize() <= 60 and len(receiver.plis) >= 2
        fanout.push(codec, _Frame(VP8_KEY, 99_000))
        assert bytes(await source.recv()) == VP8_KEY
        source.stop()
        assert source not in fanout.subscribers

    asyncio.run(run())


def test_the_decoder_gets_frames_only_when_wanted_and_from_a_keyframe() -> None:
    async def run() -> None:
        inner: queue.Queue[Any] = queue.Queue()
        wanted = [False]
        fanout = Fanout(kind="video", mime="video/VP8", clock_rate=90_000, ask_keyframe=lambda: None,
                        on_frame=lambda: None, min_keyframe_interval=0.0)
        tee = TeeQueue(inner, fanout, lambda: wanted[0])
        codec = _Codec("video/VP8")
        tee.put((codec, _Frame(VP8_KEY, 0)))
        assert inner.empty() and fanout.frames == 1
        wanted[0] = True
        tee.put((codec, _Frame(VP8_DELTA, 1)))  # decoding starts at the next keyframe, not here
        assert inner.empty() and fanout.keyframe_requests == 1
        tee.put((codec, _Frame(VP8_KEY, 2)))
        tee.put((codec, _Frame(VP8_DELTA, 3)))
        assert [inner.get_nowait()[1].timestamp for _ in range(2)] == [2, 3] and tee.decoded == 2
        source = fanout.subscribe()
        tee.put(None)  # the receiver stops: the decoder thread and the viewers hear it
        assert inner.get_nowait() is None
        with pytest.raises(MediaStreamError):
            await source.recv()

    asyncio.run(run())
