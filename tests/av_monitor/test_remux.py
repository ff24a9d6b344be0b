"""The remux path: an H.264 publisher's frames are recorded as they came, cut at keyframes it is asked for.

`H264PacketTrack` plays an H.264 publisher as the hub's fanout hands it to the recorder: Annex B
frames (SPS/PPS in-band before each IDR, as browsers and aiortc send them), keyframes only when
asked (`request_keyframe`, the PLI the recorder sends near each segment boundary).
"""

from __future__ import annotations

import asyncio
import io
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from av_monitor.rec_encode import RunEncoder
from av_monitor.rec_remux import KeyframePacer, RemuxError, add_video_stream, nal_units, parameter_sets
from av_monitor.recorder import RoomRecorder, SegmentInfo
from tests.av_monitor.hub_support import settings_for
from tests.av_monitor.media_support import (
    OpusPacketTrack,
    ToneAudioTrack,
    check_segments,
    counter_picture,
    decode_recording,
    opus_tone,
    peak_frequency,
)


class H264PacketTrack(MediaStreamTrack):
    """Paced H.264 packets with a frame counter; keyframes only on request; a size change after `resize_at`."""

    kind = "video"
    mime = "video/h264"

    def __init__(self, *, frames: int, fps: int = 15, size: tuple[int, int] = (320, 240),
                 resize_at: int | None = None) -> None:
        super().__init__()
        self.frames, self.fps, self.size, self.resize_at = frames, fps, size, resize_at
        self.sent = 0
        self.requests = 0
        self.keyframes = 0
        self._force = True
        self._encoder = self._new_encoder(size)
        self._start: float | None = None

    @staticmethod
    def _new_encoder(size: tuple[int, int]) -> av.VideoCodecContext:
        enc = av.CodecContext.create("libx264", "w")
        assert isinstance(enc, av.VideoCodecContext)
        enc.width, enc.height = size
        enc.pix_fmt, enc.time_base = "yuv420p", Fraction(1, 90_000)
        enc.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline",
                       "x264-params": "keyint=infinite:scenecut=0:repeat-headers=1"}
        return enc

    def request_keyframe(self) -> None:
        self.requests += 1
        self._force = True

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.sent >= self.frames:
            self.stop()
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self.sent / self.fps - time.monotonic()))
        if self.resize_at is not None and self.sent == self.resize_at:
            self.size = (self.size[0] * 2, self.size[1] * 2)
            self._encoder, self._force = self._new_encoder(self.size), True
        picture = av.VideoFrame.from_ndarray(counter_picture(self.sent, *self.size), format="yuv420p")
        picture.pts = round(self.sent * 90_000 / self.fps)
        picture.time_base = Fraction(1, 90_000)
        picture.pict_type = av.video.frame.PictureType.I if self._force else av.video.frame.PictureType.NONE
        self._force = False
        [encoded] = self._encoder.encode(picture)
        packet = av.Packet(bytes(encoded))
        packet.pts, packet.time_base = picture.pts, picture.time_base
        packet.is_keyframe = encoded.is_keyframe
        self.keyframes += int(encoded.is_keyframe)
        self.sent += 1
        return packet


def _record(tmp_path: Path, tracks: list[MediaStreamTrack], seconds: float) -> tuple[Path, list[SegmentInfo]]:
    infos: list[SegmentInfo] = []

    async def run() -> Path:
        recorder = RoomRecorder(room_code="R1", directory=tmp_path, on_segment=infos.append,
                                settings=settings_for(tmp_path))
        for track in tracks:
            recorder.add_track(track)
        await asyncio.sleep(seconds)
        await recorder.stop()
        return recorder.directory

    return asyncio.run(run()), infos


def test_an_h264_track_is_remuxed_in_segments_cut_at_the_keyframes_the_recorder_asks_for(tmp_path: Path) -> None:
    video = H264PacketTrack(frames=15 * 5)
    directory, infos = _record(tmp_path, [video, ToneAudioTrack()], 5.4)
    check_segments(directory, infos)  # hashes, order, each segment starts with a keyframe
    assert {i.video for i in infos} == {"remux"}
    assert len(infos) >= 4 and video.requests >= len(infos) - 1, "a keyframe asked for near each boundary"
    assert video.keyframes <= len(infos) + 1, "the publisher was not asked for a keyframe on every frame"
    for info in infos[:-1]:
        assert 0.5 <= info.duration <= 1.6, f"segment {info.index} lasts {info.duration:.2f} s (target 1 s)"
    [run] = decode_recording(directory)
    counters = [n for _, n, _ in run.video]
    assert counters == list(range(counters[0], 15 * 5)) and counters[0] == 0, "every frame, in order, as sent"
    times = [t for t, _, _ in run.video]
    assert times[0] == 0.0 and times[-1] == pytest.approx((len(times) - 1) / 15, abs=0.15)
    # The tone goes on after the last picture (0.4 s): audio from the first keyframe to the stop.
    assert len(run.audio) / 48_000 == pytest.approx(5.4, abs=0.3), "audio runs alongside"


def test_opus_is_remuxed_beside_h264_and_a_lost_stretch_stays_a_gap_in_time(tmp_path: Path) -> None:
    video = H264PacketTrack(frames=15 * 4)
    tone = OpusPacketTrack(opus_tone(250), lost=range(100, 125))  # 0.5 s lost at 2 s
    directory, infos = _record(tmp_path, [video, tone], 4.2)
    check_segments(directory, infos)
    assert {(i.video, i.audio) for i in infos} == {("remux", "remux")}
    [run] = decode_recording(directory)
    assert abs(peak_frequency(run.audio) - 1000) < 20, "the tone, decoded from the Opus as sent"
    assert len(run.audio) / 48_000 == pytest.approx(4.2 - 0.5, abs=0.3), "the lost 0.5 s is not filled in"
    # ... yet the audio keeps its timeline: what follows the loss plays at its own time, not 0.5 s early.
    data = b"".join((directory / n).read_bytes() for n in ["init-000.mp4", *(i.path.name for i in infos)])
    with av.open(io.BytesIO(data)) as container:
        last = [float(f.time or 0) for f in container.decode(audio=0)][-1]
    assert last == pytest.approx(4.2, abs=0.3)


def test_a_change_of_picture_size_starts_a_new_run_after_a_discontinuity(tmp_path: Path) -> None:
    video = H264PacketTrack(frames=15 * 3, resize_at=20)
    directory, infos = _record(tmp_path, [video], 3.4)
    check_segments(directory, infos)
    runs = decode_recording(directory)
    assert [r.size for r in runs] == [(320, 240), (640, 480)]
    assert [n for r in runs for _, n, _ in r.video] == list(range(15 * 3)), "no frame lost at the change"
    assert sum(i.gap_before for i in infos) == 1 and len({i.init_path for i in infos}) == 2
    assert "#EXT-X-DISCONTINUITY" in (directory / "index.m3u8").read_text()


def test_a_run_starts_at_the_first_keyframe_and_refuses_one_without_parameter_sets(tmp_path: Path) -> None:
    fragments: list[tuple[float, float]] = []
    encoder = RunEncoder(settings=settings_for(tmp_path), origin=0.0, size=None, on_init=lambda _: None,
                         on_fragment=lambda _, start, duration: fragments.append((start, duration)), remux=True)
    track = H264PacketTrack(frames=3)
    packets = [asyncio.run(track.recv()) for _ in range(3)]
    key, delta = packets[0], packets[1]
    assert key.is_keyframe and not delta.is_keyframe
    assert encoder.video_packet(delta, 0, Fraction(1, 90_000), 0.0, 1) and encoder.skipped_packets == 1
    tone = av.AudioFrame.from_ndarray(np.zeros((1, 960), dtype=np.int16), format="s16", layout="mono")
    tone.sample_rate = 48_000
    encoder.audio(tone, 0, Fraction(1, 48_000), 0.0, 2)  # before the first keyframe: not recorded
    assert encoder.audio_samples == 0
    bare = av.Packet(b"".join(b"\x00\x00\x00\x01" + u for u in nal_units(bytes(key)) if u[0] & 0x1F == 5))
    bare.is_keyframe = True
    with pytest.raises(RemuxError, match="SPS/PPS"):
        encoder.video_packet(bare, 0, Fraction(1, 90_000), 0.1, 1)
    assert encoder.video_packet(key, 9000, Fraction(1, 90_000), 0.2, 1)
    assert encoder.size == (320, 240) and encoder.remux
    encoder.close()
    assert fragments and fragments[0][0] == 0.0


def test_parameter_sets_and_the_stream_they_describe() -> None:
    track = H264PacketTrack(frames=2, size=(160, 128))
    key = bytes(asyncio.run(track.recv()))
    delta = bytes(asyncio.run(track.recv()))
    assert [u[0] & 0x1F for u in nal_units(key)][:2] == [7, 8]
    assert parameter_sets(delta) == b"" and parameter_sets(key).count(b"\x00\x00\x00\x01") == 2
    with av.open("/dev/null", "w", format="mp4") as out:  # never written: only the stream's set-up is read
        stream = add_video_stream(out, key)
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 128)


def test_the_pacer_asks_for_a_keyframe_just_before_each_boundary() -> None:
    pacer = KeyframePacer(2.0)
    assert not pacer.due(0.0, key=False), "nothing is due before the first keyframe"
    assert not pacer.due(0.1, key=True)
    assert not pacer.due(1.5, key=False) and pacer.due(1.8, key=False) and pacer.due(2.1, key=False)
    assert not pacer.due(2.15, key=True), "the keyframe that came starts the next segment"
    assert not pacer.due(3.0, key=True), "an early keyframe (a viewer's) is not a boundary"
    assert pacer.due(3.9, key=False)
