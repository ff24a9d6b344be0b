"""Wall thumbnails: bit rate per tile and CPU per room of the shared thumbnail encode.

Usage: .venv/bin/python benchmarks/bench_thumbs.py [--seconds 20] [--runs 3] [--width 320] [--fps 5]

Camera-like 640x480 pictures at 15 fps (bench_av's textured, moving, noisy scene, made once before
timing) are fed in real time to `av_monitor.thumbs.Thumbnailer` with three subscribed tiles. Per run:
the thumbnail's bit rate (bytes the fanout carried / seconds), pictures encoded per second, and this
process's CPU seconds per second minus a run that feeds the same pictures to nobody. Medians of
`--runs`; a full-rate stream of the same scene is ~800 kbit/s (bench_av's publishers).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import av
import numpy as np
from aiortc import MediaStreamTrack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cameras import FPS, HEIGHT, WIDTH, camera_picture  # noqa: E402

from av_monitor.thumbs import Thumbnailer  # noqa: E402
from config.settings import Settings  # noqa: E402


class Pictures(MediaStreamTrack):
    """The prepared pictures at 15 fps, looped, as decoded frames."""

    kind = "video"

    def __init__(self, frames: list[av.VideoFrame]) -> None:
        super().__init__()
        self.frames, self.sent, self.start = frames, 0, time.monotonic()

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(max(0.0, self.start + self.sent / FPS - time.monotonic()))
        frame = self.frames[self.sent % len(self.frames)]
        self.sent += 1
        return frame


async def feed(frames: list[av.VideoFrame], seconds: float, settings: Settings | None) -> tuple[float, float, float]:
    """(CPU s per s, bit/s, pictures encoded per s) of `seconds` of pictures, thumbnailed or not."""
    track = Pictures(frames)
    thumbs = Thumbnailer(track, settings) if settings is not None else None
    tiles = [thumbs.fanout.subscribe() for _ in range(3)] if thumbs else []
    cpu0, t0 = time.process_time(), time.monotonic()
    if thumbs is None:
        while time.monotonic() - t0 < seconds:
            await track.recv()
    else:
        while time.monotonic() - t0 < seconds:
            await asyncio.sleep(0.5)
            for tile in tiles:
                while not tile._queue.empty():
                    tile._queue.get_nowait()
    wall = time.monotonic() - t0
    cpu = (time.process_time() - cpu0) / wall
    if thumbs is None:
        return cpu, 0.0, 0.0
    rate, pictures = thumbs.fanout.bytes * 8 / wall, thumbs.fanout.frames / wall
    thumbs.stop()
    return cpu, rate, pictures


def main() -> None:
    """Prepare the pictures, run, print."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--fps", type=float, default=5)
    args = p.parse_args()
    settings = Settings(webrtc_thumbnail_width=args.width, webrtc_thumbnail_fps=args.fps)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    background = (110 + 40 * np.sin(xx / 17.0) * np.cos(yy / 23.0) + (xx // 80 % 2) * 20).astype(np.uint8)
    frames = [av.VideoFrame.from_ndarray(camera_picture(n, rng, background), format="yuv420p") for n in range(10 * FPS)]
    results = []
    for _ in range(args.runs):
        base = asyncio.run(feed(frames, args.seconds, None))[0]
        cpu, rate, pictures = asyncio.run(feed(frames, args.seconds, settings))
        results.append((100 * (cpu - base), rate / 1000, pictures))
        print(f"  run: thumbnail CPU {results[-1][0]:.2f} % of a core, {results[-1][1]:.0f} kbit/s, "
              f"{pictures:.1f} pictures/s", flush=True)
    cpu, rate, pictures = (statistics.median(r[i] for r in results) for i in range(3))
    print(f"thumbnail {args.width} px wide at {args.fps:g} fps, target {settings.webrtc_thumbnail_bitrate // 1000} "
          f"kbit/s; median of {args.runs}: {rate:.0f} kbit/s per tile, {cpu:.2f} % of a core per room "
          f"(shared by every tile), {pictures:.1f} pictures/s")


if __name__ == "__main__":
    main()
