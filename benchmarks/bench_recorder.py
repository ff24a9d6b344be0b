"""Room recorder benchmark: CPU per recorded room per x264 preset, rooms per core, event-loop lag, memory.

Usage: .venv/bin/python benchmarks/bench_recorder.py [--seconds 30] [--presets ultrafast,superfast,veryfast]
                                                     [--rooms 1] [--memory-seconds 180] [--memory-rooms 3]

Generated 640x480 video (a static room with a moving figure and sensor noise, like a camera) and a
48 kHz tone are fed in real time to `RoomRecorder`, as decoded frames from aiortc would be. The cost of
generating the frames is measured in a run without a recorder and subtracted. Every run happens in this
one process, so the presets compare as ratios under the same load. The memory run records
`--memory-rooms` rooms for `--memory-seconds` and samples the resident set size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from av_monitor.recorder import RoomRecorder, SegmentInfo  # noqa: E402
from config.settings import Settings  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def scene(count: int, width: int, height: int, seed: int) -> list[np.ndarray]:
    """Pictures (yuv420p planes) of a still room, a figure moving across it, and a little sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    room = (60 + 80 * x / width + 30 * np.sin(y / 23.0) + rng.normal(0, 6, (height, width))).clip(16, 235)
    pictures = []
    figure = rng.normal(150, 40, (height, 120))
    for i in range(count):
        luma = room + rng.normal(0, 3.0, room.shape)
        cx = int(width * (0.2 + 0.6 * (i / count)))
        luma[height // 3:height - 20, cx - 60:cx + 60] = figure[height // 3 - i:height - 20 - i]
        plane = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
        plane[:height] = luma.clip(16, 235).astype(np.uint8)
        pictures.append(plane)
    return pictures


class SceneTrack(MediaStreamTrack):
    """Paced video from a loop of pictures, with RTP-like 90 kHz timestamps."""

    kind = "video"

    def __init__(self, pictures: list[np.ndarray], fps: float, stop_at: float) -> None:
        super().__init__()
        self._pictures, self._fps, self._stop_at = pictures, fps, stop_at
        self._n = 0
        self._start = time.monotonic()

    async def recv(self) -> av.VideoFrame:
        due = self._start + self._n / self._fps
        if due >= self._stop_at:
            raise MediaStreamError
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(self._pictures[self._n % len(self._pictures)], format="yuv420p")
        frame.pts, frame.time_base = round(self._n * 90_000 / self._fps), Fraction(1, 90_000)
        self._n += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """Paced 20 ms frames of s16 stereo 48 kHz audio, as aiortc's Opus decoder delivers them."""

    kind = "audio"

    def __init__(self, stop_at: float) -> None:
        super().__init__()
        self._stop_at = stop_at
        n = np.arange(960)
        self._wave = np.repeat((np.sin(2 * np.pi * 1000 * n / 48_000) * 8000).astype(np.int16), 2).reshape(1, -1)
        self._samples = 0
        self._start = time.monotonic()

    async def recv(self) -> av.AudioFrame:
        due = self._start + self._samples / 48_000
        if due >= self._stop_at:
            raise MediaStreamError
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = av.AudioFrame.from_ndarray(self._wave, format="s16", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, self._samples, Fraction(1, 48_000)
        self._samples += 960
        return frame


async def _drain(track: MediaStreamTrack) -> None:
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        return


def rss_mib() -> float:
    """Resident set size of this process (MiB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


async def run_rooms(*, preset: str | None, rooms: int, seconds: float, fps: float,
                    pictures: list[list[np.ndarray]], root: Path, rss_every: float = 0.0) -> dict[str, float]:
    """Record `rooms` rooms (or only generate their frames when preset is None); return the figures."""
    stop_at = time.monotonic() + seconds
    lags: list[float] = []
    steady: list[float] = []  # lags after the first 2 s (recorder start-up excluded)
    rss: list[float] = []
    segments: list[SegmentInfo] = []
    recorders = []
    drains = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    for r in range(rooms):
        video, audio = SceneTrack(pictures[r % len(pictures)], fps, stop_at), ToneTrack(stop_at)
        if preset is None:
            drains += [asyncio.create_task(_drain(video)), asyncio.create_task(_drain(audio))]
            continue
        settings = Settings(recording_x264_preset=preset, recording_audio_channels=1)
        recorder = RoomRecorder(room_code=f"B{r}", directory=root, on_segment=segments.append, settings=settings)
        recorder.add_track(video)
        recorder.add_track(audio)
        recorders.append(recorder)
    next_rss = time.monotonic()
    while time.monotonic() < stop_at:
        before = time.monotonic()
        await asyncio.sleep(0.01)
        lags.append(time.monotonic() - before - 0.01)
        if before - wall0 > 2.0:
            steady.append(lags[-1])
        if rss_every and time.monotonic() >= next_rss:
            rss.append(rss_mib())
            next_rss += rss_every
    await asyncio.gather(*drains)
    for recorder in recorders:
        await recorder.stop()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    lags.sort()
    return {
        "cpu": cpu, "wall": wall, "rooms": rooms,
        "lag_p50_ms": 1000 * lags[len(lags) // 2], "lag_p99_ms": 1000 * lags[int(len(lags) * 0.99)],
        "lag_max_ms": 1000 * lags[-1], "lag_steady_max_ms": 1000 * max(steady, default=0.0),
        "dropped": sum(r.dropped_frames for r in recorders),
        "kbit_s": sum(s.path.stat().st_size for s in segments) * 8 / 1000 / max(wall, 1e-9) / max(rooms, 1),
        "rss": rss,  # type: ignore[dict-item]
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each preset run")
    parser.add_argument("--presets", default="ultrafast,superfast,veryfast")
    parser.add_argument("--rooms", type=int, default=1, help="rooms recorded at once in each preset run")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--memory-seconds", type=float, default=180.0, help="length of the memory run (0: none)")
    parser.add_argument("--memory-rooms", type=int, default=3)
    parser.add_argument("--memory-preset", default=Settings().recording_x264_preset)
    args = parser.parse_args()

    pictures = [scene(30, args.width, args.height, seed) for seed in range(max(args.rooms, args.memory_rooms))]
    print(f"{args.width}x{args.height}@{args.fps:g} fps + 48 kHz audio, {os.cpu_count()} CPUs, "
          f"{args.rooms} room(s) per run of {args.seconds:g} s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = await run_rooms(preset=None, rooms=args.rooms, seconds=args.seconds, fps=args.fps,
                               pictures=pictures, root=root)
        feed = base["cpu"] / base["wall"]
        print(f"frame generation alone: {feed:.3f} CPU s/s (subtracted below)")
        print(f"{'preset':<10} {'CPU s/s/room':>12} {'ratio':>6} {'rooms/core':>10} {'kbit/s':>7} "
              f"{'lag p50/p99/max/steady max ms':>30} {'dropped':>7}")
        first = None
        for preset in args.presets.split(","):
            fig = await run_rooms(preset=preset, rooms=args.rooms, seconds=args.seconds, fps=args.fps,
                                  pictures=pictures, root=root / preset)
            per_room = max(fig["cpu"] / fig["wall"] - feed, 1e-9) / args.rooms
            first = first or per_room
            print(f"{preset:<10} {per_room:>12.3f} {per_room / first:>6.2f} {1 / per_room:>10.1f} "
                  f"{fig['kbit_s']:>7.0f} {fig['lag_p50_ms']:>11.1f}/{fig['lag_p99_ms']:.1f}/{fig['lag_max_ms']:.1f}"
                  f"/{fig['lag_steady_max_ms']:.1f}"
                  f" {fig['dropped']:>7.0f}")
        if args.memory_seconds > 0:
            fig = await run_rooms(preset=args.memory_preset, rooms=args.memory_rooms, seconds=args.memory_seconds,
                                  fps=args.fps, pictures=pictures, root=root / "memory", rss_every=10.0)
            rss: list[float] = fig["rss"]  # type: ignore[assignment]
            warm = rss[min(2, len(rss) - 1):]
            print(f"memory run: {args.memory_rooms} rooms, {args.memory_preset}, {args.memory_seconds:g} s: "
                  f"RSS after 20 s {warm[0]:.0f} MiB, at end {warm[-1]:.0f} MiB, max {max(warm):.0f} MiB, "
                  f"median of the second half {statistics.median(warm[len(warm) // 2:]):.0f} MiB; "
                  f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
                  f"lag p99 {fig['lag_p99_ms']:.1f} ms, max {fig['lag_max_ms']:.1f} ms "
                  f"(after start-up {fig['lag_steady_max_ms']:.1f} ms); dropped {fig['dropped']:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
