"""WHIP ingest and WHEP viewing over real aiortc peers against the app served by uvicorn.

The service runs in a thread (tests/e2e/support.serve) on a temporary SQLite database; the test
drives it from its own event loop with aiortc peers and httpx: a terminal publishes generated
video with a frame counter and a tone (tests/av_monitor/media_support.py), a supervisor watches,
the recording's segments are checked against the ledger (harness: tests/av_monitor/hub_support.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import RTCPeerConnection
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from av_monitor.tracks import ViewerTrack
from tests.api_support import PASSWORD
from tests.av_monitor.hub_support import (
    NO_ICE,
    SDP,
    Ending,
    FakeRecorder,
    Stalling,
    check_hashes,
    counter_at_least,
    entries,
    login,
    publish,
    running,
    segment_facts,
    settings_for,
    until,
    watch,
)
from tests.av_monitor.media_support import (
    CounterVideoTrack,
    ToneAudioTrack,
    decode_recording,
    peak_frequency,
    read_counter,
)


@pytest.mark.parametrize(("codec", "path"), [("video/H264", "remux"), ("video/VP8", "transcode")])
def test_publish_watch_record_and_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str, path: str) -> None:
    """WHIP 201 + answer + Location, a WHEP viewer gets the counter and the tone, DELETE ends both,
    and the recording's segments (counter and tone inside) match their ledger hashes, which say how
    the video was recorded (an H.264 publisher's remuxed, a VP8 one's transcoded)."""
    settings = settings_for(tmp_path).model_copy(update={"webrtc_publish_video_codec": codec})
    with running(tmp_path, monkeypatch, None, settings) as (base, hub):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                pub, pub_url = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack()])
                viewer, view_url, got = await watch(c, sup)
                seen = await counter_at_least(got["video"], 30, (320, 240))
                assert seen == sorted(seen), "the viewer gets the frames in order"
                audio = await asyncio.wait_for(got["audio"].recv(), 15)
                assert isinstance(audio, AudioFrame)

                async def recorded() -> Any:
                    st = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                    return st if st["recording"] and segment_facts() else None
                state = await until(recorded)
                assert state and state["publishing"] and state["viewers"] == 1 and state["last_frame_at"]
                assert not state["stalled"] and state["recording_id"] and state["alerts"] == []
                assert (await c.delete(view_url, headers=sup)).status_code == 200
                assert (await c.delete(view_url, headers=sup)).status_code == 404
                assert (await c.delete(pub_url, headers=term)).status_code == 200
                after = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                assert not after["publishing"] and after["viewers"] == 0
                assert after["recording"], "the recording waits for a reconnect"
                await pub.close()
                await viewer.close()

                async def finished() -> bool:
                    st = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                    return not st["recording"] and st["recording_id"] is None
                assert await until(finished, timeout=10), "no reconnect within the linger: the recording ends"
                playlist = next((tmp_path / "recordings" / "MAIN-R1").iterdir()) / "index.m3u8"
                assert "#EXT-X-ENDLIST" in playlist.read_text()

        asyncio.run(flow())
    assert [(e.actor, e.subject) for e in entries("av.view")] == [("user:super", "room:MAIN-R1")]
    assert [e.kind for e in entries("av.publish") + entries("av.unpublish")] == ["av.publish", "av.unpublish"]
    folder = next((tmp_path / "recordings" / "MAIN-R1").iterdir())
    check_hashes(folder, segment_facts())
    assert {(f["video"], f["audio"]) for f in segment_facts()} == {(path, path)}, "Opus is remuxed with H.264"
    [run] = decode_recording(folder)
    counters = [n for _, n, _ in run.video if n is not None]
    assert len(counters) >= 15 and counters == sorted(counters)
    assert abs(peak_frequency(run.audio) - 1000) < 20


def test_second_publisher_replaces_first_and_viewer_follows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new WHIP session closes the old peer; the viewer sees the new camera; the recording goes on after a gap."""
    with running(tmp_path, monkeypatch, None) as (base, _):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                viewer, _, got = await watch(c, sup)  # before any publisher: it waits for one
                first, first_url = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack()])
                await counter_at_least(got["video"], 20, (320, 240))
                second, second_url = await publish(
                    c, term, [CounterVideoTrack(width=160, height=120, first=2000), ToneAudioTrack()])
                await counter_at_least(got["video"], 2020, (160, 120))
                state = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                assert state["publisher_session"] == second_url.rsplit("/", 1)[1] and state["viewers"] == 1
                assert (await c.delete(first_url, headers=term)).status_code == 404, "the old session is gone"

                async def first_closed() -> bool:
                    return first.connectionState in ("closed", "failed")
                assert await until(first_closed), first.connectionState
                for pc in (first, second, viewer):
                    await pc.close()

        asyncio.run(flow())
    publishes = [json.loads(e.payload) for e in entries("av.publish")]
    assert len(publishes) == 2 and publishes[0]["recording_id"] == publishes[1]["recording_id"]
    folder = tmp_path / "recordings" / "MAIN-R1" / publishes[0]["recording_id"]
    facts = segment_facts()
    check_hashes(folder, facts)
    assert [f["gap_before"] for f in facts].count(True) == 1, "one gap, where the publisher changed"
    first_run, second_run = decode_recording(folder)
    assert all(n < 2000 for _, n, _ in first_run.video if n is not None)
    assert any(n is not None and n >= 2000 for _, n, _ in second_run.video)


def test_stalled_stream_raises_alert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A publisher that stops sending frames raises av.alert and shows as stalled."""
    with running(tmp_path, monkeypatch, FakeRecorder) as (base, _):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                pub, _ = await publish(c, term, [Stalling(CounterVideoTrack(), 10)])

                async def stalled() -> Any:
                    st = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                    return st if st["stalled"] else None
                state = await until(stalled, timeout=20)
                assert state and state["publishing"] and state["last_frame_at"], state
                assert [a["reason"] for a in state["alerts"]] == ["no_frames"]
                await pub.close()

        asyncio.run(flow())
    [alert] = entries("av.alert")
    assert alert.subject == "room:MAIN-R1" and json.loads(alert.payload)["reason"] == "no_frames"


def test_refusals_and_bad_offers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrong roles get 401/403, out-of-scope users a ledgered 404, bad bodies 415/400, PATCH 405."""
    offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    with running(tmp_path, monkeypatch, FakeRecorder) as (base, _):
        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                heads = {u: await login(c, u) for u in ("term1", "super", "super_off", "coord_auxa", "admin")}
                whip, whep = "/api/rooms/MAIN-R1/whip", "/api/rooms/MAIN-R1/whep"
                checks = [
                    (whip, {}, 401), (whep, {}, 401),
                    (whip, heads["super"], 403), (whip, heads["admin"], 403), (whep, heads["term1"], 403),
                    (whep, heads["super_off"], 404), (whep, heads["coord_auxa"], 404),
                    ("/api/rooms/AUXA-R1/whip", heads["term1"], 404), ("/api/rooms/NOPE/whep", heads["super"], 404),
                ]
                for url, h, status in checks:
                    r = await c.post(url, content=offer, headers={**h, **SDP})
                    assert r.status_code == status, (url, h, r.text)
                    assert r.json()["detail"][0]["loc"]
                r = await c.get("/api/rooms/MAIN-R1/stream", headers=heads["super_off"])
                assert r.status_code == 404
                r = await c.post(whip, content=offer, headers={**heads["term1"], "Content-Type": "application/json"})
                assert r.status_code == 415 and r.json()["detail"][0]["loc"] == ["content-type"]
                for bad in ("hello", offer, offer.replace("m=video", "m=text")):
                    r = await c.post(whip, content=bad, headers={**heads["term1"], **SDP})
                    assert r.status_code == 400 and r.json()["detail"][0]["loc"] == ["sdp"], r.text
                r = await c.post(whep, content="v=0", headers={**heads["super"], **SDP})
                assert r.status_code == 400
                assert (await c.delete(f"{whip}/nope", headers=heads["term1"])).status_code == 404
                assert (await c.patch(f"{whip}/nope", headers=heads["term1"])).status_code == 405
                # Viewers may wait for a publisher; the room's viewer limit (2 here) answers 429 beyond.
                first, first_url, _ = await watch(c, heads["super"])
                second, second_url, _ = await watch(c, heads["admin"])
                pc = RTCPeerConnection(NO_ICE)
                pc.addTransceiver("video", direction="recvonly")
                await pc.setLocalDescription(await pc.createOffer())
                r = await c.post(whep, content=pc.localDescription.sdp, headers={**heads["super"], **SDP})
                assert r.status_code == 429 and r.json()["detail"][0]["loc"] == ["code"], r.text
                for url, peer in ((first_url, first), (second_url, second)):
                    assert (await c.delete(url, headers=heads["super"])).status_code == 200
                    await peer.close()
                await pc.close()
                # The terminal page publishes with the console cookie: the CSRF header is required.
                page = await c.get("/login")
                csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
                await c.post("/login", data={"username": "term1", "password": PASSWORD, "csrf_token": csrf})
                # The login issues a fresh CSRF token; the terminal's page would embed it. The cookie is
                # signed, not encrypted, so the test reads it from there.
                raw = c.cookies["yidi_session"].split(".")[0]
                csrf = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4)))["csrf"]
                r = await c.post(whip, content="hello", headers=SDP)
                assert r.status_code == 403
                r = await c.post(whip, content="hello", headers={**SDP, "X-CSRF-Token": csrf})
                assert r.status_code == 400, "the cookie with its CSRF token is accepted"

        asyncio.run(flow())
    denied = entries("auth.denied")
    assert any("room:MAIN-R1" in json.loads(e.payload).get("what", "") + e.subject for e in denied)


def test_viewer_track_follows_publishers() -> None:
    """A viewer's track outlives a publisher that ends, and goes on with the next one."""

    async def flow() -> None:
        relay = MediaRelay()
        one = Ending(CounterVideoTrack(first=1), 5)
        viewer = ViewerTrack("video", relay.subscribe(one, buffered=False))
        got = []
        while True:  # the publisher's frames, then (it has left) recv waits instead of ending the sender
            pending = asyncio.ensure_future(viewer.recv())
            done, _ = await asyncio.wait({pending}, timeout=1.0)
            if not done:
                break
            got.append(pending.result())
        assert 1 <= len(got) <= 5 and viewer.readyState == "live"
        assert all(isinstance(f, VideoFrame) and read_counter(f) is not None for f in got)
        viewer.follow(relay.subscribe(CounterVideoTrack(first=3000), buffered=False))
        frame = await asyncio.wait_for(pending, 5)
        assert isinstance(frame, VideoFrame) and (read_counter(frame) or 0) >= 3000
        viewer.stop()
        with pytest.raises(MediaStreamError):
            await viewer.recv()

    asyncio.run(flow())
