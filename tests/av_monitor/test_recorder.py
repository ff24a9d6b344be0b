"""The room recorder: two in-process aiortc peers publish a counter video and a tone; the recording is decoded."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack

from av_monitor.rec_segments import PLAYLIST_NAME, FragmentSplitter, Playlist
from av_monitor.rec_timing import RtpUnwrapper, TrackClock
from av_monitor.recorder import RoomRecorder, SegmentInfo
from config.settings import Settings
from tests.av_monitor.media_support import (
    CounterVideoTrack,
    CountingTrack,
    ToneAudioTrack,
    check_segments,
    connect,
    decode_recording,
    peak_frequency,
    tone_onset,
    video_offset,
)

FPS = 15
SEGMENT = 2.0


def _settings(**overrides: object) -> Settings:
    return Settings(recording_segment_seconds=SEGMENT, **overrides)  # type: ignore[arg-type]


async def _wait_tracks(pair: object, kinds: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(pair.tracks) < kinds:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the receiving peer got no tracks"
        await asyncio.sleep(0.01)


def test_two_peers_recording_is_complete_in_sync_and_hashed(tmp_path: Path) -> None:
    asyncio.run(_two_peers_recording_is_complete_in_sync_and_hashed(tmp_path))


async def _two_peers_recording_is_complete_in_sync_and_hashed(tmp_path: Path) -> None:
    video, tone = CounterVideoTrack(fps=FPS), ToneAudioTrack()
    pair = await connect(video, tone)
    infos: list[SegmentInfo] = []
    try:
        await _wait_tracks(pair, 2)
        counting = CountingTrack(pair.tracks["video"])
        recorder = RoomRecorder(room_code="R1", directory=tmp_path, on_segment=infos.append, settings=_settings())
        recorder.add_track(pair.tracks["audio"])
        recorder.add_track(counting)
        await asyncio.sleep(7)
        await recorder.stop()
    finally:
        await pair.close()

    assert len(infos) >= 3
    assert not any(i.gap_before for i in infos)
    assert all(i.duration == pytest.approx(SEGMENT, abs=0.1) for i in infos[:-1])
    check_segments(recorder.directory, infos)
    [run] = decode_recording(recorder.directory)
    assert run.size == (320, 240)

    recorded = [n for _, n, _ in run.video if n is not None]
    received = [n for n in counting.counters if n is not None]
    assert recorder.dropped_frames == 0
    # The recorder loses nothing it received, in order; what aiortc itself lost is measured apart.
    assert recorded == received
    aiortc_lost = sorted(set(range(received[0], received[-1] + 1)) - set(received))
    print(f"sent {video.sent}, received {len(received)}, lost in aiortc {aiortc_lost}")
    assert len(aiortc_lost) <= 0.02 * video.sent
    times = [t for t, _, _ in run.video]
    assert times == sorted(times) and len(set(times)) == len(times)

    assert peak_frequency(run.audio[24_000:]) == pytest.approx(1000, abs=10)
    assert np.sqrt(np.mean(run.audio[24_000:] ** 2)) > 0.1
    assert len(run.audio) / 48_000 == pytest.approx(sum(i.duration for i in infos), abs=0.15)
    # Both tracks start at 0 and the sender's first tone sample and frame 0 play within 100 ms.
    assert run.audio_start == 0.0 and times[0] == 0.0
    skew = video_offset(run.video, received[0]) - tone_onset(run.audio, run.audio_start)
    print(f"A/V skew {skew * 1000:.1f} ms")
    assert abs(skew) < 0.1


def test_audio_first_still_records_video(tmp_path: Path) -> None:
    asyncio.run(_audio_first_still_records_video(tmp_path))


async def _audio_first_still_records_video(tmp_path: Path) -> None:
    video, tone = CounterVideoTrack(fps=FPS, start_delay=1.0), ToneAudioTrack()
    pair = await connect(video, tone)
    infos: list[SegmentInfo] = []
    try:
        await _wait_tracks(pair, 2)
        recorder = RoomRecorder(room_code="R2", directory=tmp_path, on_segment=infos.append, settings=_settings())
        recorder.add_track(pair.tracks["audio"])
        recorder.add_track(pair.tracks["video"])
        await asyncio.sleep(5)
        await recorder.stop()
    finally:
        await pair.close()
    check_segments(recorder.directory, infos)
    [run] = decode_recording(recorder.directory)
    assert run.size == (320, 240)  # the real size, although audio came first
    counters = [n for _, n, _ in run.video if n is not None]
    assert len(counters) >= 3 * FPS and counters == sorted(counters)
    # Video starts about 1 s into the recording, where the sender's first frame belongs.
    skew = video_offset(run.video) - tone_onset(run.audio, run.audio_start)
    assert skew == pytest.approx(1.0, abs=0.1)


def test_reconnect_continues_the_recording_with_a_gap(tmp_path: Path) -> None:
    asyncio.run(_reconnect_continues_the_recording_with_a_gap(tmp_path))


async def _reconnect_continues_the_recording_with_a_gap(tmp_path: Path) -> None:
    infos: list[SegmentInfo] = []
    recorder = RoomRecorder(room_code="R3", directory=tmp_path, on_segment=infos.append, settings=_settings())
    for first_number, (width, height) in ((0, (320, 240)), (1000, (256, 192))):
        video = CounterVideoTrack(fps=FPS, first=first_number, width=width, height=height)
        pair = await connect(video, ToneAudioTrack())
        try:
            await _wait_tracks(pair, 2)
            recorder.add_track(pair.tracks["video"])
            recorder.add_track(pair.tracks["audio"])
            await asyncio.sleep(3)
            recorder.track_ended()
        finally:
            await pair.close()
    await recorder.stop()

    check_segments(recorder.directory, infos)
    gaps = [i.index for i in infos if i.gap_before]
    assert len(gaps) == 1 and 0 < gaps[0] < len(infos)
    assert {i.recording_id for i in infos} == {recorder.recording_id}
    text = recorder.playlist.read_text()
    assert text.count("#EXT-X-DISCONTINUITY") == 1 and text.count("#EXT-X-MAP:") == 2
    first, second = decode_recording(recorder.directory)
    assert first.size == second.size == (320, 240)  # a new picture size is scaled to the recording's
    assert {n for _, n, _ in first.video if n is not None} & set(range(0, 30)), "first publisher missing"
    assert {n for _, n, _ in second.video if n is not None} & set(range(1000, 1030)), "second publisher missing"
    assert infos[gaps[0]].started_at > infos[gaps[0] - 1].started_at


def test_rtp_timestamp_wrap_keeps_the_timeline_continuous(tmp_path: Path) -> None:
    asyncio.run(_rtp_timestamp_wrap_keeps_the_timeline_continuous(tmp_path))


async def _rtp_timestamp_wrap_keeps_the_timeline_continuous(tmp_path: Path) -> None:
    # Both tracks' 32-bit timestamps wrap about 1 s into the recording (as they do every 13 h / 25 h).
    video = CounterVideoTrack(fps=FPS, pts_offset=2**32 - 90_000)
    tone = ToneAudioTrack(pts_offset=2**32 - 48_000)
    infos: list[SegmentInfo] = []
    recorder = RoomRecorder(room_code="R5", directory=tmp_path, on_segment=infos.append, settings=_settings())
    recorder.add_track(video)
    recorder.add_track(tone)
    await asyncio.sleep(3.5)
    await recorder.stop()
    assert recorder.clock_resets == 0  # the wrap was unwrapped, not papered over by arrival times
    check_segments(recorder.directory, infos)
    [run] = decode_recording(recorder.directory)
    steps = np.diff([t for t, n, _ in run.video if n is not None])
    assert len(steps) >= 3 * FPS and steps.min() > 0 and steps.max() < 2.5 / FPS
    # No silence was inserted at the wrap: the tone runs from start to end.
    quiet = (np.abs(run.audio[4800:-4800]) < 0.01).astype(int)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet, [0]])))
    assert (edges[1::2] - edges[::2]).max(initial=0) < 0.005 * 48_000  # no run of silence over 5 ms
    assert abs(video_offset(run.video) - tone_onset(run.audio, run.audio_start)) < 0.1


class _FloodTrack(MediaStreamTrack):
    """Frames as fast as the event loop asks for them (no network), to overrun the encoder."""

    kind = "video"

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count, self.sent = count, 0
        rng = np.random.default_rng(1)
        self._pictures = [rng.integers(0, 255, (720, 640), dtype=np.uint8) for _ in range(4)]

    async def recv(self) -> av.VideoFrame:
        from aiortc.mediastreams import MediaStreamError

        if self.sent >= self.count:
            raise MediaStreamError
        await asyncio.sleep(0)
        frame = av.VideoFrame.from_ndarray(self._pictures[self.sent % 4], format="yuv420p")
        frame.pts, frame.time_base = self.sent * 3000, Fraction(1, 90_000)
        self.sent += 1
        return frame


def test_full_queue_drops_frames_instead_of_blocking(tmp_path: Path) -> None:
    asyncio.run(_full_queue_drops_frames_instead_of_blocking(tmp_path))


async def _full_queue_drops_frames_instead_of_blocking(tmp_path: Path) -> None:
    infos: list[SegmentInfo] = []
    settings = _settings(recording_queue_frames=3, recording_x264_preset="veryfast")
    recorder = RoomRecorder(room_code="R4", directory=tmp_path, on_segment=infos.append, settings=settings)
    flood = _FloodTrack(300)
    lags: list[float] = []

    async def ticker() -> None:
        while flood.sent < flood.count:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            lags.append(time.monotonic() - before - 0.005)

    started = time.monotonic()
    ticking = asyncio.create_task(ticker())
    recorder.add_track(flood)
    await ticking
    produced_in = time.monotonic() - started
    await recorder.stop()
    [run] = decode_recording(recorder.directory)
    assert recorder.dropped_frames > 0
    assert recorder.queue_high_water <= 3
    assert len(run.video) + recorder.dropped_frames == flood.count
    print(f"300 frames offered in {produced_in:.2f} s, dropped {recorder.dropped_frames}, max lag {max(lags):.3f}")
    assert max(lags) < 0.1


def test_rtp_unwrap_across_the_32_bit_wrap() -> None:
    unwrapper = RtpUnwrapper()
    raw = [(2**32 - 6000 + i * 3000) % 2**32 for i in range(6)]
    assert [unwrapper.unwrap(r) for r in raw] == [i * 3000 for i in range(6)]
    assert unwrapper.unwrap(raw[-1] - 3000) == 4 * 3000  # reordered packet goes back, not 13 h forward


def test_track_clock_follows_rtp_and_reanchors_on_jumps() -> None:
    clock = TrackClock(origin=100.0)
    tb = Fraction(1, 90_000)
    start = 2**32 - 45_000
    assert clock.seconds(start, tb, 100.2) == pytest.approx(0.2)
    # Arrival jitter does not move frames; the RTP clock (wrapping here) does.
    assert clock.seconds((start + 90_000) % 2**32, tb, 101.25) == pytest.approx(1.2)
    # A sender clock jump of an hour is not trusted: back to arrival time.
    assert clock.seconds((start + 90_000 * 3600) % 2**32, tb, 101.3) == pytest.approx(1.3)
    assert clock.reanchors == 1


def test_fragment_splitter_is_independent_of_write_sizes() -> None:
    def box(kind: bytes, payload: bytes) -> bytes:
        return (8 + len(payload)).to_bytes(4, "big") + kind + payload

    init = box(b"ftyp", b"x" * 12) + box(b"moov", b"m" * 40)
    stream = init
    fragments = [box(b"moof", bytes([i]) * 30) + box(b"mdat", bytes([i]) * (100 + i)) for i in range(3)]
    stream += b"".join(fragments) + box(b"mfra", b"z" * 9)
    for chunk in (1, 7, 64, len(stream)):
        inits: list[bytes] = []
        got: list[bytes] = []
        splitter = FragmentSplitter(inits.append, got.append)
        for i in range(0, len(stream), chunk):
            splitter.write(stream[i:i + chunk])
        assert inits == [init] and got == fragments


def test_a_killed_recording_leaves_playable_hashed_segments(tmp_path: Path) -> None:
    """kill -9 while recording: every segment reported before the kill is listed, intact and playable."""
    script = Path(__file__).with_name("media_support.py")
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).parents[2], env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert child.stdout is not None
    reported: dict[str, str] = {}
    for line in child.stdout:
        name, digest = line.split()
        reported[name] = digest
        if len(reported) == 3:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    directory = tmp_path / "killed"
    playlist = Playlist.load(directory / PLAYLIST_NAME, target_seconds=1)
    assert not playlist.ended
    listed = [e.name for e in playlist.entries]
    # on_segment runs just before the playlist update, so the last reported one may be unlisted.
    assert set(reported) - set(listed) <= {max(reported)} and len(listed) >= 2
    for name in listed:
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == reported[name]
    [run] = decode_recording(directory)
    assert len(run.video) >= 2 * SEGMENT * FPS * 0.9

    # A restarted service continues the same recording after a gap.
    infos: list[SegmentInfo] = []
    asyncio.run(_record_briefly(tmp_path, infos))
    assert infos[0].index == len(listed) and infos[0].gap_before
    resumed = Playlist.load(directory / PLAYLIST_NAME, target_seconds=1)
    assert resumed.ended and [e.name for e in resumed.entries[: len(listed)]] == listed
    assert len(decode_recording(directory)) == 2


async def _record_briefly(root: Path, infos: list[SegmentInfo]) -> None:
    recorder = RoomRecorder(room_code="K1", directory=root, on_segment=infos.append, settings=_settings(),
                            recording_id="killed")
    recorder.add_track(CounterVideoTrack())
    recorder.add_track(ToneAudioTrack())
    await asyncio.sleep(2.5)
    await recorder.stop()


def test_a_stopped_recorder_releases_its_relay_subscriptions(tmp_path: Path) -> None:
    """Review finding: buffered relay proxies kept queueing every frame after the recording stopped."""
    from aiortc.contrib.media import MediaRelay

    from tests.av_monitor.media_support import CounterVideoTrack

    async def run() -> None:
        relay = MediaRelay()
        source = CounterVideoTrack(fps=30)
        live = relay.subscribe(source, buffered=False)  # the room keeps publishing to a viewer
        proxy = relay.subscribe(source, buffered=True)
        recorder = RoomRecorder(room_code="R6", directory=tmp_path, on_segment=lambda info: None, settings=_settings())
        recorder.add_track(proxy)
        for _ in range(10):
            await live.recv()
        await recorder.stop()
        assert proxy.readyState == "ended"
        for _ in range(30):  # the room goes on: nothing may pile up for the stopped recorder
            await live.recv()
        queue = getattr(proxy, "_MediaRelay__queue", None) or getattr(proxy, "_RelayStreamTrack__queue", None)
        assert queue is None or queue.qsize() <= 2
        live.stop()

    asyncio.run(run())
