"""Generated media for the recorder tests: a video track with a frame counter, a tone, and helpers.

The frame number is drawn as 12 bits plus their 12 complements in 24 large black/white blocks, so
it survives VP8 and H.264 compression and a black or corrupted picture never reads as a number.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection

from av_monitor.rec_segments import PLAYLIST_NAME, Playlist
from av_monitor.recorder import RoomRecorder, SegmentInfo
from config.settings import Settings

BITS = 12
COLS, ROWS = 8, 3  # 24 blocks: the number's bits, then their complements
WHITE, BLACK = 235, 16


def counter_picture(n: int, width: int, height: int) -> np.ndarray:
    """A yuv420p plane array (height*3/2 × width) showing frame number `n` as blocks."""
    plane = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
    luma = plane[:height]
    luma[:] = 90 + (n * 7) % 60  # a changing background so the encoders have something to do
    bw, bh = width // COLS, height // ROWS
    bits = [(n >> i) & 1 for i in range(BITS)]
    for i, bit in enumerate(bits + [1 - b for b in bits]):
        r, c = divmod(i, COLS)
        luma[r * bh:(r + 1) * bh, c * bw:(c + 1) * bw] = WHITE if bit else BLACK
    return plane


def read_counter(frame: av.VideoFrame) -> int | None:
    """The frame number drawn by `counter_picture`, or None if the picture carries none."""
    luma = frame.to_ndarray(format="gray")
    h, w = luma.shape
    bw, bh = w // COLS, h // ROWS
    values = []
    for i in range(2 * BITS):
        r, c = divmod(i, COLS)
        block = luma[r * bh + bh // 4:(r + 1) * bh - bh // 4, c * bw + bw // 4:(c + 1) * bw - bw // 4]
        values.append(1 if block.mean() > 128 else 0)
    bits, check = values[:BITS], values[BITS:]
    if any(b == c for b, c in zip(bits, check, strict=True)):
        return None
    return sum(b << i for i, b in enumerate(bits))


class CounterVideoTrack(MediaStreamTrack):
    """Paced video with a frame counter; `start_delay` holds the first frame back (audio-first starts)."""

    kind = "video"

    def __init__(self, *, width: int = 320, height: int = 240, fps: int = 15, first: int = 0,
                 start_delay: float = 0.0, pts_offset: int = 0) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.pts_offset = pts_offset  # RTP timestamps are 32-bit: an offset near 2**32 makes them wrap
        self.next_number = first
        self.sent = 0
        self._delay = start_delay
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            await asyncio.sleep(self._delay)
            self._start = time.monotonic()
        due = self._start + self.sent / self.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(counter_picture(self.next_number, self.width, self.height), format="yuv420p")
        frame.pts = (self.pts_offset + round(self.sent * 90_000 / self.fps)) % 2**32
        frame.time_base = Fraction(1, 90_000)
        self.next_number += 1
        self.sent += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """Paced 48 kHz mono sine tone in 20 ms frames."""

    kind = "audio"

    def __init__(self, *, frequency: float = 1000.0, amplitude: float = 0.3, pts_offset: int = 0) -> None:
        super().__init__()
        self.frequency, self.amplitude, self.pts_offset = frequency, amplitude, pts_offset
        self.samples = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.samples / 48_000
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        n = np.arange(self.samples, self.samples + 960)
        wave = (np.sin(2 * np.pi * self.frequency * n / 48_000) * self.amplitude * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = (self.pts_offset + self.samples) % 2**32
        frame.time_base = Fraction(1, 48_000)
        self.samples += 960
        return frame


def opus_tone(frames: int, *, frequency: float = 1000.0) -> list[bytes]:
    """`frames` 20 ms Opus packets (48 kHz mono) of a sine tone, as a WebRTC microphone sends them."""
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate, codec.layout, codec.format = 48_000, "mono", "s16"
    codec.bit_rate = 32_000
    packets: list[bytes] = []
    for n in range(frames):
        t = np.arange(n * 960, (n + 1) * 960)
        wave = (np.sin(2 * np.pi * frequency * t / 48_000) * 0.3 * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(wave, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48_000, n * 960
        packets += [bytes(p) for p in codec.encode(frame)]
    return packets


class OpusPacketTrack(MediaStreamTrack):
    """Paced 20 ms Opus packets, looped (a microphone as a fanout or a pre-encoded publisher gives them)."""

    kind = "audio"
    mime = "audio/opus"

    def __init__(self, packets: list[bytes], *, lost: range = range(0)) -> None:
        super().__init__()
        self.packets, self.lost = packets, lost  # packets numbered in `lost` never arrive (a network loss)
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[override]
        while True:
            if self._start is None:
                self._start = time.monotonic()
            await asyncio.sleep(max(0.0, self._start + self.sent * 0.02 - time.monotonic()))
            number = self.sent
            self.sent += 1
            if number not in self.lost:
                packet = av.Packet(self.packets[number % len(self.packets)])
                packet.pts, packet.time_base = number * 960, Fraction(1, 48_000)
                return packet


class CountingTrack(MediaStreamTrack):
    """Pass-through of a received video track that notes each delivered frame's counter."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source
        self.counters: list[int | None] = []

    async def recv(self) -> av.VideoFrame:
        frame = await self._source.recv()
        assert isinstance(frame, av.VideoFrame)
        self.counters.append(read_counter(frame))
        return frame


@dataclass
class PeerPair:
    """A sending and a receiving RTCPeerConnection connected in-process over localhost UDP."""

    sender: RTCPeerConnection
    receiver: RTCPeerConnection
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)

    async def close(self) -> None:
        await self.sender.close()
        await self.receiver.close()


async def connect(*tracks: MediaStreamTrack) -> PeerPair:
    """Publish `tracks` from one peer to the other and return the receiver's remote tracks by kind."""
    config = RTCConfiguration(iceServers=[])
    pair = PeerPair(RTCPeerConnection(config), RTCPeerConnection(config))

    @pair.receiver.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        pair.tracks[track.kind] = track

    for track in tracks:
        pair.sender.addTrack(track)
    await pair.sender.setLocalDescription(await pair.sender.createOffer())
    await pair.receiver.setRemoteDescription(pair.sender.localDescription)
    await pair.receiver.setLocalDescription(await pair.receiver.createAnswer())
    await pair.sender.setRemoteDescription(pair.receiver.localDescription)
    return pair


@dataclass
class DecodedRun:
    """One run (init segment and its segments) of a recording, decoded."""

    video: list[tuple[float, int | None, bool]]  # (seconds, counter, keyframe)
    audio: np.ndarray  # mono float samples at 48 kHz from the run's start
    audio_start: float
    size: tuple[int, int]


def decode_bytes(data: bytes) -> DecodedRun:
    """Decode an init segment followed by media segments, as an HLS player feeds them."""
    with av.open(io.BytesIO(data), mode="r") as container:
        vs = container.streams.video[0]
        size = (vs.codec_context.width, vs.codec_context.height)
        video = [(float(f.time or 0.0), read_counter(f), f.key_frame) for f in container.decode(video=0)]
    with av.open(io.BytesIO(data), mode="r") as container:
        chunks, start = [], None
        for f in container.decode(audio=0):
            start = float(f.time or 0.0) if start is None else start
            chunks.append(f.to_ndarray().mean(axis=0))
    audio = np.concatenate(chunks) if chunks else np.zeros(0)
    return DecodedRun(video, audio, start or 0.0, size)


def decode_recording(directory: Path) -> list[DecodedRun]:
    """Decode every run of a recording by following its playlist."""
    playlist = Playlist.load(directory / PLAYLIST_NAME, target_seconds=1)
    runs: dict[str, bytes] = {}
    for entry in playlist.entries:
        if entry.init_name not in runs:
            runs[entry.init_name] = (directory / entry.init_name).read_bytes()
        runs[entry.init_name] += (directory / entry.name).read_bytes()
    return [decode_bytes(data) for data in runs.values()]


def check_segments(directory: Path, infos: list[SegmentInfo]) -> None:
    """Every reported segment is on disk with its hash, listed in order, and plays on its own."""
    playlist = Playlist.load(directory / PLAYLIST_NAME, target_seconds=1)
    assert playlist.ended
    assert [e.name for e in playlist.entries] == [i.path.name for i in infos]
    assert [i.index for i in infos] == list(range(len(infos)))
    for info, entry in zip(infos, playlist.entries, strict=True):
        assert hashlib.sha256(info.path.read_bytes()).hexdigest() == info.sha256
        assert info.init_path == directory / entry.init_name
        assert hashlib.sha256(info.init_path.read_bytes()).hexdigest() == info.init_sha256
        assert entry.duration == pytest.approx(info.duration, abs=1e-3)
        # Each segment decodes from its own init segment and starts with a keyframe (HLS seeking).
        run = decode_bytes((directory / entry.init_name).read_bytes() + info.path.read_bytes())
        assert run.video and run.video[0][2], f"segment {info.index} does not start with a keyframe"
    assert not list(directory.glob("*.tmp"))


def video_offset(run_video: list[tuple[float, int | None, bool]], first: int = 0, fps: int = 15) -> float:
    """Median of (presentation time − sender time) over the frames whose counter is readable."""
    return float(np.median([t - (n - first) / fps for t, n, _ in run_video if n is not None]))


def tone_onset(audio: np.ndarray, audio_start: float) -> float:
    return audio_start + int(np.argmax(np.abs(audio) > 0.05)) / 48_000


def peak_frequency(samples: np.ndarray, rate: int = 48_000) -> float:
    """Frequency (Hz) of the strongest FFT bin of `samples`."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


async def _record_until_killed(directory: Path) -> None:
    """Child process of the crash test: record generated tracks, print each segment's name and hash."""
    def report(info: SegmentInfo) -> None:
        print(info.path.name, info.sha256, flush=True)

    settings = Settings(recording_segment_seconds=2.0)
    recorder = RoomRecorder(room_code="K1", directory=directory, on_segment=report, settings=settings,
                            recording_id="killed")
    recorder.add_track(CounterVideoTrack())
    recorder.add_track(ToneAudioTrack())
    await asyncio.sleep(3600)


if __name__ == "__main__":
    import sys

    asyncio.run(_record_until_killed(Path(sys.argv[1])))
