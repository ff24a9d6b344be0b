"""Public bid openings: how many anonymous viewers one service process holds, on the embedded backend.

The service (`python -m api.cli serve`, its own process, a temporary SQLite database) records one
bid-opening room, MAIN-R1, published by this process with pre-encoded camera video (640x480, 15 fps,
H.264 at `--bitrate`, as the camera page sends it) and an Opus tone. Anonymous viewers watch through
the opening's link (`POST /api/watch/{token}/whep`, no login): headless subscribers that receive and
reassemble frames without decoding, in `--helpers` helper processes so that they spread over the
machine's cores. Their own CPU is reported apart from the service's.

For each viewer count N of `--viewers`: the service's CPU (user+system from /proc, 100 % = one core;
median of `--window`-second windows over `--seconds`), the helpers' CPU, the machine's busy share,
the video frames each viewer received per second (min and median; the camera sends 15), and
whether the recording kept up (media seconds / wall seconds from the ledger). A step "holds" when
every viewer receives at least 90 % of the camera's frames and the recording keeps up (≥ 0.95).
On this 2-core machine the helpers and the service share the cores, so the count found is what one
process holds *while its viewers run beside it*; the service's CPU per viewer is the slope.

    .venv/bin/python benchmarks/bench_openings.py [--viewers 0,25,50,100,150] [--helpers 2] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from aiortc import RTCPeerConnection
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_av import cpu_seconds, cpu_windows, machine_busy  # noqa: E402
from bench_cameras import FPS, Cameras  # noqa: E402

from config import db  # noqa: E402
from openings import service as openings  # noqa: E402
from openings.models import PublicOpening  # noqa: E402
from tests.av_monitor.crash_support import (  # noqa: E402
    RECEIVED,
    Service,
    ledger_payloads,
    login,
    prepare_database,
    publish,
    watch,
)
from venues.models import Room  # noqa: E402

TOKEN = "bench-opening-" + "x" * 18


def open_room(database: Path) -> None:
    """Make MAIN-R1 a bid-opening room with a public opening on now (token TOKEN)."""
    engine = db.make_engine(f"sqlite:///{database}")
    now = datetime.now(UTC)
    with Session(engine) as s:
        openings.set_room_purpose(s, room_code="MAIN-R1", purpose="opening", actor="bench", now=now)
        room = s.exec(select(Room).where(Room.code == "MAIN-R1")).one()
        assert room.id is not None
        s.add(PublicOpening(room_id=room.id, title="bench", start=now - timedelta(minutes=5),
                            end=now + timedelta(hours=6), token=TOKEN, created_by="bench"))
        s.commit()
    engine.dispose()


async def helper(base: str) -> None:
    """A helper process: on "add N" open N more anonymous viewers, on "report" print their video counts."""
    viewers: list[RTCPeerConnection] = []
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            word, *rest = line.split()
            if word == "add":
                for _ in range(int(rest[0])):
                    viewers.append((await watch(client, {}, "MAIN-R1", decode=False,
                                                endpoint=f"/api/watch/{TOKEN}/whep"))[0])
            elif word == "drop":
                for _ in range(int(rest[0])):
                    await viewers.pop().close()
            print(json.dumps([RECEIVED[pc]["video"] for pc in viewers]), flush=True)
        for pc in viewers:
            await pc.close()


class Helper:
    """A helper process and its viewers."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc, self.count = proc, 0

    async def ask(self, line: str) -> list[int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()
        return list(json.loads(await self.proc.stdout.readline()))


async def bench(args: argparse.Namespace, work: Path) -> None:
    database = work / "bench.db"
    prepare_database(database)
    open_room(database)
    env = {"YIDI_OPENING_MAX_VIEWERS": "10000", "YIDI_WEBRTC_PUBLISH_VIDEO_CODEC": "video/H264"}
    service = Service(database, work / "recordings", work / "service.log", segment_seconds=4.0, extra_env=env)
    service.start()
    cameras = Cameras(codec="video/H264", bitrate=args.bitrate, low_bitrate=110_000, low_layer=False)
    helpers = [Helper(await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--helper", service.base, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)) for _ in range(args.helpers)]
    rows: list[tuple[int, float, float, float, float, float, float, bool]] = []
    try:
        async with httpx.AsyncClient(base_url=service.base, timeout=60) as client:
            term = await login(client, "term1")
            pub, _ = await publish(client, term, cameras.tracks(), "MAIN-R1", video_codec="video/H264")
            for n in args.viewers:
                for i, h in enumerate(helpers):  # spread the viewers evenly over the helpers
                    want = n // len(helpers) + (1 if i < n % len(helpers) else 0)
                    if want != h.count:
                        await h.ask(f"add {want - h.count}" if want > h.count else f"drop {h.count - want}")
                        h.count = want
                await asyncio.sleep(args.warmup)
                rows.append(await measure(args, service, helpers, database, n))
            await pub.close()
    finally:
        for h in helpers:
            if h.proc.stdin is not None:
                h.proc.stdin.close()
            await h.proc.wait()
        service.stop()
    report(rows)


async def measure(args: argparse.Namespace, service: Service, helpers: list[Helper], database: Path,
                  n: int) -> tuple[int, float, float, float, float, float, float, bool]:
    """One step's figures: viewers, service CPU, helpers' CPU, machine busy, fps min/median, kept up, holds."""
    def media() -> float:
        return sum(float(p["duration"]) for p in ledger_payloads(database, "av.segment"))

    before = [c for h in helpers for c in await h.ask("report")]
    helpers0 = sum(cpu_seconds(h.proc.pid) for h in helpers)
    media0, busy0, wall0 = media(), machine_busy(), time.monotonic()
    windows = await cpu_windows(service.pid, args.seconds, args.window)
    wall = time.monotonic() - wall0
    after = [c for h in helpers for c in await h.ask("report")]
    busy1 = machine_busy()
    helpers_cpu = 100 * (sum(cpu_seconds(h.proc.pid) for h in helpers) - helpers0) / wall
    machine = 100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    fps = [(a - b) / wall for a, b in zip(after, before, strict=True)]
    kept = (media() - media0) / wall
    async with httpx.AsyncClient(base_url=service.base, timeout=30) as client:
        state = (await client.get("/api/rooms/MAIN-R1/stream", headers=await login(client, "super"))).json()
    if not state["publishing"] or state["stalled"]:
        print(f"  the publisher: publishing {state['publishing']}, stalled {state['stalled']}, "
              f"alerts {[a['reason'] for a in state['alerts']]}", flush=True)
    low, mid = (min(fps), statistics.median(fps)) if fps else (float("nan"), float("nan"))
    holds = (not fps or low >= 0.9 * FPS) and kept >= 0.95
    cpu = statistics.median(windows)
    print(f"  {n} viewers: service CPU {cpu:.1f} % ({min(windows):.0f}-{max(windows):.0f}), "
          f"helpers {helpers_cpu:.0f} %, machine {machine:.0f} %, fps min {low:.1f} median {mid:.1f}, "
          f"kept up {kept:.2f}, "
          f"{'holds' if holds else 'does not hold'}", flush=True)
    return n, cpu, helpers_cpu, machine, low, mid, kept, holds


def report(rows: list[tuple[int, float, float, float, float, float, float, bool]]) -> None:
    print(f"\n{'viewers':>8}{'service CPU %':>15}{'helpers CPU %':>15}{'machine %':>11}{'fps min':>9}"
          f"{'fps median':>12}{'kept up':>9}  holds")
    for n, cpu, helpers_cpu, machine, low, mid, kept, holds in rows:
        print(f"{n:>8}{cpu:>15.1f}{helpers_cpu:>15.0f}{machine:>11.0f}{low:>9.1f}{mid:>12.1f}{kept:>9.2f}  "
              f"{'yes' if holds else 'no'}")
    held = [r for r in rows if r[7]]
    if len(held) > 1:  # the steps that hold: past them the figures say what broke, not what a viewer costs
        xs, ys = np.array([r[0] for r in held]), np.array([r[1] for r in held])
        slope = float(np.polyfit(xs, ys, 1)[0])
        print(f"\nservice CPU per anonymous viewer (slope over the steps that hold, {[int(x) for x in xs]}): "
              f"{slope:.2f} % of a core; one core (the process's event loop) at this slope: ~{100 / slope:.0f} "
              f"viewers; the helpers' CPU per viewer: {held[-1][2] / max(1, held[-1][0]):.2f} %")
    print(f"most viewers held on this machine (every viewer >= 90 % of {FPS} fps, recording kept up): "
          f"{max(r[0] for r in held) if held else 0}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--viewers", type=lambda s: [int(x) for x in s.split(",")], default=[0, 25, 50, 100, 150])
    p.add_argument("--helpers", type=int, default=2, help="helper processes holding the viewers")
    p.add_argument("--seconds", type=float, default=20, help="measured seconds per step")
    p.add_argument("--window", type=float, default=4, help="seconds per CPU sample window")
    p.add_argument("--warmup", type=float, default=6, help="seconds after a change before measuring")
    p.add_argument("--bitrate", type=int, default=800_000, help="the camera's video bit rate (bit/s)")
    p.add_argument("--keep", type=Path, default=None, help="keep the service's log and database in this folder")
    p.add_argument("--helper", default="", help=argparse.SUPPRESS)  # a helper process: the service's base URL
    args = p.parse_args()
    if args.helper:
        asyncio.run(helper(args.helper))
        return
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(bench(args, args.keep))
        return
    with tempfile.TemporaryDirectory(prefix="yidi-bench-openings-") as tmp:
        asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
