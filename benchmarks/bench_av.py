"""A/V benchmark of the real service: CPU per recorded room and per extra viewer, rooms per core, memory.

The service (`python -m api.cli serve`) runs in its own process on a temporary SQLite database (the
tiny day plus a site BENCH with one terminal user per room). This process plays the cameras and the
supervisors: WHIP publishers sending 640x480 at 15 fps (a moving figure on a textured background
with fresh sensor noise every frame, so the service's VP8 decoder and x264 encoder work as for a
camera) plus a 48 kHz tone, and WHEP viewers that receive and decode like a browser (wall tiles
receive without decoding unless `--decode-tiles`). Video and tone are encoded once at start-up and
sent as packets, so the publishers cost this process little and take less CPU from the service on a
small machine.

CPU is the service process's user+system time from /proc/<pid>/stat (100 % = one core), the median of
`--window`-second windows over `--seconds` per step. Steps: idle; 1 recorded room with 0..V viewers;
then N recorded rooms for each N of `--rooms`. The per-room cost is the slope of a least-squares line
through CPU(N); rooms per core = 100 % / slope. "kept up" is recorded media seconds / (rooms x wall
seconds) from the ledger's `av.segment` durations (1.00 = real time). The memory run records
`--memory-rooms` rooms with one viewer for `--minutes` and prints the RSS every minute and its slope.

Designs (`--designs`, each a fresh service in this one run, so they compare as ratios under the same
load): `forward` (today's defaults: H.264 publishers, recorded by remux, viewers get the publisher's
packets), `forward-vp8` (VP8 publishers: viewers forward, the recorder decodes and encodes) and
`transcode` (VP8 publishers, one VP8 encode per viewer and x264 per room: the design before, the
baseline). Each design measures idle, the room steps and the viewer steps; the wall and the memory
run use the first design only. The publishers' video is encoded once at start-up
(VP8 or H.264 baseline, a keyframe every 2 s) and looped.

    .venv/bin/python benchmarks/bench_av.py [--rooms 1,2,4,6,8] [--viewers 1,2,4] [--seconds 30] [--minutes 10]
                                            [--designs forward,transcode]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from aiortc import RTCPeerConnection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_cameras import FPS, HEIGHT, WIDTH, Cameras, publish_rooms  # noqa: E402

from tests.av_monitor.crash_support import (  # noqa: E402
    RECEIVED,
    Service,
    ledger_payloads,
    login,
    prepare_database,
    publish,
    terminal_of,
    watch,
)

TICKS = os.sysconf("SC_CLK_TCK")


# design -> (publishers' codec, YIDI_WEBRTC_FORWARD_VIEWERS, YIDI_RECORDING_REMUX)
DESIGNS = {"forward": ("video/H264", True, True), "forward-vp8": ("video/VP8", True, False),
           "transcode": ("video/VP8", False, False)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


async def cpu_windows(pid: int, seconds: float, window: float) -> list[float]:
    """CPU % of process `pid` (100 % = one core) in consecutive `window`-second windows for `seconds`."""
    windows, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        c0, t0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(window)
        windows.append(100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0))
    return windows


def rss_mib(pid: int) -> float:
    """Resident set size of `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Bench:
    """The service, its publishers and viewers, and the measurements."""

    def __init__(self, args: argparse.Namespace, work: Path, *, design: str, full: bool) -> None:
        self.args, self.work, self.design, self.full = args, work, design, full
        work.mkdir(parents=True, exist_ok=True)
        self.database = work / "bench.db"
        most = max([*args.rooms, *args.wall, args.memory_rooms])
        self.rooms = prepare_database(self.database, extra_rooms=most - 1)
        self.codec, forward, remux = DESIGNS[design]
        env = {"YIDI_WEBRTC_RECORDING_LINGER_SECONDS": "3", "YIDI_RECORDING_X264_PRESET": args.preset,
               "YIDI_WEBRTC_FORWARD_VIEWERS": str(forward).lower(), "YIDI_RECORDING_REMUX": str(remux).lower(),
               "YIDI_WEBRTC_PUBLISH_VIDEO_CODEC": self.codec}
        self.service = Service(self.database, work / "recordings", work / "service.log",
                               segment_seconds=args.segment_seconds, extra_env=env)
        self.cameras = Cameras(codec=self.codec, bitrate=args.bitrate, low_bitrate=args.low_bitrate,
                               low_layer=args.low_layer)
        self.publishers: dict[str, RTCPeerConnection] = {}
        self.sessions: dict[str, tuple[str, dict[str, str]]] = {}  # room -> (WHIP session URL, headers)
        self.viewers: list[RTCPeerConnection] = []
        self.rows: list[tuple[str, int, int, float, float, float, str]] = []
        self.per_viewer: list[float] = []
        self.per_room = float("nan")  # one recorded room minus idle
        self.slope = float("nan")  # CPU per recorded room: the slope over the room steps
        self.child_rooms = 0  # rooms published by a helper process (the wall step)

    def recorded_seconds(self) -> float:
        return sum(float(p["duration"]) for p in ledger_payloads(self.database, "av.segment"))

    async def measure(self, label: str) -> float:
        """Median service CPU % over windows of the step; appends a table row."""
        await asyncio.sleep(self.args.warmup)
        own: list[float] = []
        media0, busy0, wall0 = self.recorded_seconds(), machine_busy(), time.monotonic()
        me0 = time.process_time()
        windows = await cpu_windows(self.service.pid, self.args.seconds, self.args.window)
        wall = time.monotonic() - wall0
        busy1 = machine_busy()
        machine = 100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        own.append(100 * (time.process_time() - me0) / wall)
        rooms = len(self.publishers) + self.child_rooms
        kept = (self.recorded_seconds() - media0) / (rooms * wall) if rooms else float("nan")
        cpu = statistics.median(windows)
        spread = f"{min(windows):.0f}-{max(windows):.0f}"
        self.rows.append((label, rooms, len(self.viewers), cpu, machine, own[0], f"{kept:.2f} ({spread})"))
        print(f"  {label}: service CPU {cpu:.1f} % (windows {spread}), machine busy {machine:.0f} %, "
              f"this process {own[0]:.0f} %, kept up {kept:.2f}", flush=True)
        return cpu

    async def set_rooms(self, client: httpx.AsyncClient, n: int) -> None:
        while len(self.publishers) < n:
            room = self.rooms[len(self.publishers)]
            headers = await login(client, terminal_of(room))
            pc, url = await publish(client, headers, self.cameras.tracks(), room, video_codec=self.codec)
            self.publishers[room] = pc
            self.sessions[room] = (url, headers)
        while len(self.publishers) > n:
            room, pc = self.publishers.popitem()
            url, headers = self.sessions.pop(room)
            await client.delete(url, headers=headers)
            await pc.close()

    async def set_viewers(self, client: httpx.AsyncClient, headers: dict[str, str], n: int) -> None:
        while len(self.viewers) < n:
            self.viewers.append((await watch(client, headers, self.rooms[0]))[0])
        while len(self.viewers) > n:
            await self.viewers.pop().close()

    async def run(self) -> None:
        a = self.args
        print(f"\ndesign {self.design}", flush=True)
        async with httpx.AsyncClient(base_url=self.service.base, timeout=60) as c:
            sup = await login(c, "super")
            idle = await self.measure("idle service")
            await self.set_rooms(c, 1)
            one = await self.measure("1 room recorded")
            self.per_room = one - idle
            for v in a.viewers:
                await self.set_viewers(c, sup, v)
                self.per_viewer.append((await self.measure(f"1 room + {v} viewer(s)") - one) / v)
            await self.set_viewers(c, sup, 0)
            points = [(0, idle), (1, one)]
            for n in a.rooms:
                if n > 1:
                    await self.set_rooms(c, n)
                    points.append((n, await self.measure(f"{n} rooms recorded")))
            self.report(points, self.per_viewer)
            for n in a.wall if self.full else []:
                await self.wall(c, n)
            if a.minutes > 0 and self.full:
                await self.memory(c, sup)
            for pc in [*self.publishers.values(), *self.viewers]:
                await pc.close()

    def report(self, points: list[tuple[int, float]], per_viewer: list[float]) -> None:
        print(f"\n{'step':<24}{'rooms':>6}{'viewers':>8}{'service CPU %':>15}{'machine %':>11}"
              f"{'bench %':>9}  kept up (CPU % range of the windows)")
        for label, rooms, viewers, cpu, machine, own, kept in self.rows:
            print(f"{label:<24}{rooms:>6}{viewers:>8}{cpu:>15.1f}{machine:>11.0f}{own:>9.0f}  {kept}")
        xs, ys = np.array([p[0] for p in points if p[0] > 0]), np.array([p[1] for p in points if p[0] > 0])
        slope, intercept = np.polyfit(xs, ys, 1) if len(xs) > 1 else (ys[0] - points[0][1], points[0][1])
        self.slope = float(slope)
        print(f"\nCPU per recorded room (slope over {[int(x) for x in xs]} rooms): {slope:.1f} % of a core "
              f"(intercept {intercept:.1f} %, idle {points[0][1]:.1f} %)")
        cores = os.cpu_count() or 1
        print(f"rooms recorded per core: {100 / slope:.1f}; on this machine's {cores} cores "
              f"(service alone): {cores * 100 / slope:.1f}")
        if per_viewer:
            print(f"CPU per extra viewer of one room: median {statistics.median(per_viewer):.1f} % "
                  f"({', '.join(f'{v:.1f}' for v in per_viewer)} at {self.args.viewers} viewers)")

    async def wall(self, client: httpx.AsyncClient, n: int) -> None:
        """`n` rooms published and recorded, one wall of all `n` (thumbnails) and 5 full viewers of the first."""
        # This process plays the supervisors and, on one core, at most `--publishers-here` cameras; a helper
        # process publishes the rest (one asyncio loop cannot send 30 rooms' packets and receive 35 views).
        here = min(n, self.args.publishers_here)
        await self.set_rooms(client, here)
        child = None
        if n > here:
            child = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--publish-only", ",".join(self.rooms[here:n]), "--base", self.service.base,
                "--codec", self.codec, "--bitrate", str(self.args.bitrate), "--low-bitrate", str(self.args.low_bitrate),
                *(["--low-layer"] if self.args.low_layer else ["--no-low-layer"]),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            assert child.stdout is not None
            line = await child.stdout.readline()
            if not line.startswith(b"ready"):
                raise RuntimeError(f"publisher helper: {line!r}")
            self.child_rooms = n - here
        admin = await login(client, "admin")  # the wall spans the BENCH site and MAIN
        # Tiles receive without decoding (this process would otherwise need the cores the service is measured on).
        tiles = [(await watch(client, admin, room, "thumb", decode=self.args.decode_tiles))[0]
                 for room in self.rooms[:n]]
        full = [(await watch(client, admin, self.rooms[0]))[0] for _ in range(5)]
        self.viewers += tiles + full
        before = [RECEIVED[pc]["video"] for pc in tiles + full]
        await self.measure(f"{n} rooms + wall + 5 full")
        got = [RECEIVED[pc]["video"] - b for pc, b in zip(tiles + full, before, strict=True)]
        secs = self.args.seconds + self.args.warmup
        print(f"  video frames received per viewer during the step: tiles {min(got[:n])}-{max(got[:n])} "
              f"(~{statistics.median(got[:n]) / secs:.1f}/s), full {min(got[n:])}-{max(got[n:])}; "
              f"{sum(g > 0 for g in got)}/{len(got)} viewers received frames", flush=True)
        if child is not None:
            assert child.stdin is not None
            child.stdin.close()  # the helper unpublishes and ends
            await child.wait()
            self.child_rooms = 0
        for pc in tiles + full:
            self.viewers.remove(pc)
            await pc.close()

    async def memory(self, client: httpx.AsyncClient, sup: dict[str, str]) -> None:
        """RSS of the service while `--memory-rooms` rooms record with one viewer for `--minutes`."""
        a, pid = self.args, self.service.pid
        await self.set_rooms(client, a.memory_rooms)
        await self.set_viewers(client, sup, 1)
        print(f"\nmemory: {a.memory_rooms} rooms recorded + 1 viewer for {a.minutes} min", flush=True)
        start, samples, media0 = time.monotonic(), [], self.recorded_seconds()
        next_print = 0.0
        while (elapsed := time.monotonic() - start) < a.minutes * 60:
            samples.append((elapsed / 60, rss_mib(pid)))
            if elapsed >= next_print:
                print(f"  t={elapsed / 60:5.1f} min  RSS {samples[-1][1]:7.1f} MiB", flush=True)
                next_print += 60
            await asyncio.sleep(5)
        samples.append(((time.monotonic() - start) / 60, rss_mib(pid)))
        kept = (self.recorded_seconds() - media0) / (a.memory_rooms * (time.monotonic() - start))
        t, m = np.array(samples).T
        half = t >= t[-1] / 2
        slope_all = np.polyfit(t, m, 1)[0]
        slope_late = np.polyfit(t[half], m[half], 1)[0] if half.sum() > 2 else float("nan")
        print(f"  t={t[-1]:5.1f} min  RSS {m[-1]:7.1f} MiB (peak {m.max():.1f}); slope {slope_all:+.2f} MiB/min "
              f"overall, {slope_late:+.2f} MiB/min over the second half; kept up {kept:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rooms", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4, 6, 8])
    p.add_argument("--viewers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4])
    p.add_argument("--seconds", type=float, default=30, help="measured seconds per step")
    p.add_argument("--window", type=float, default=5, help="seconds per CPU sample window")
    p.add_argument("--warmup", type=float, default=6, help="seconds after a change before measuring")
    p.add_argument("--minutes", type=float, default=10, help="memory run length (0: skip)")
    p.add_argument("--memory-rooms", type=int, default=4)
    p.add_argument("--segment-seconds", type=float, default=4.0)
    p.add_argument("--preset", default="veryfast", help="YIDI_RECORDING_X264_PRESET of the service")
    p.add_argument("--bitrate", type=int, default=800_000, help="publishers' video bit rate (bit/s)")
    p.add_argument("--low-layer", action=argparse.BooleanOptionalAction, default=True,
                   help="publishers also send a 320x240 5 fps low layer, forwarded to wall tiles")
    p.add_argument("--decode-tiles", action=argparse.BooleanOptionalAction, default=False,
                   help="wall tiles decode what they receive (costs this process a decoder per tile)")
    p.add_argument("--low-bitrate", type=int, default=110_000, help="the low layer's bit rate (bit/s)")
    p.add_argument("--wall", type=lambda s: [int(x) for x in s.split(",") if x], default=[],
                   help="also: N rooms recorded + a wall of all N (thumbnails) + 5 full viewers, for each N")
    p.add_argument("--designs", type=lambda s: s.split(","), default=["forward", "transcode"],
                   help="designs to measure, the first in full (forward, forward-vp8, transcode)")
    p.add_argument("--publishers-here", type=int, default=12,
                   help="wall step: cameras this process plays; a helper process plays the rest")
    p.add_argument("--publish-only", default="", help=argparse.SUPPRESS)  # the helper: these rooms
    p.add_argument("--base", default="", help=argparse.SUPPRESS)
    p.add_argument("--codec", default="video/H264", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.publish_only:
        cameras = Cameras(codec=args.codec, bitrate=args.bitrate, low_bitrate=args.low_bitrate,
                          low_layer=args.low_layer)
        asyncio.run(publish_rooms(cameras, args.base, args.publish_only.split(",")))
        return
    print(f"publishers: {WIDTH}x{HEIGHT} {FPS} fps ~{args.bitrate // 1000} kbit/s + 48 kHz tone; "
          f"service preset {args.preset}, {args.segment_seconds:g} s segments; {os.cpu_count()} CPUs", flush=True)
    results: dict[str, float] = {}
    rooms: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-av-") as tmp:
        for i, design in enumerate(args.designs):
            bench = Bench(args, Path(tmp) / design, design=design, full=i == 0)
            bench.service.start()
            try:
                asyncio.run(bench.run())
            finally:
                bench.service.stop()
            results[design] = statistics.median(bench.per_viewer) if bench.per_viewer else float("nan")
            rooms[design] = bench.slope
    if len(results) > 1:
        print("\nCPU per extra viewer by design (median, % of a core): " + ", ".join(
            f"{d} {v:.2f}" for d, v in results.items()))
        print("CPU per recorded room by design (slope over the room steps, % of a core): " + ", ".join(
            f"{d} {v:.2f}" for d, v in rooms.items()))
        base, base_room = results.get("transcode"), rooms.get("transcode")
        for d in results:
            if d != "transcode" and base and results[d] > 0 and base_room:
                print(f"{d} / transcode: per viewer {results[d] / base:.3f} ({base / results[d]:.0f}x less), "
                      f"per recorded room {rooms[d] / base_room:.3f}")


if __name__ == "__main__":
    main()
