"""The SFU back end: what the product's own processes cost when Janus carries the media.

Janus (Debian's, from the configuration sfu/janus_conf.py writes) and two service processes A and B
(`python -m api.cli serve`, one SQLite database, `YIDI_AV_BACKEND=janus`). `--rooms` rooms publish
pre-encoded camera video (640x480, 15 fps, H.264) with the camera page's VP8 low layer and an Opus
tone, from helper processes, half of them through A and half through B. A supervisor's wall of
every room (thumbnail layer) watches through B, and `--viewers` anonymous viewers of a public
opening of MAIN-R1 (full picture) through A and B in turn: headless subscribers that receive and
reassemble frames without decoding, in helper processes whose CPU is reported apart.

Printed for each step (wall only; wall plus the opening's viewers): the CPU of A + B (user+system
from /proc, 100 % = one core, median of `--window`-second windows), Janus's, the helpers', the
machine's busy share, and the video frames per second each wall tile and each opening viewer got
(min/median; the camera sends 15, the low layer 5). Every room is recorded (recording_mode
"always", 4-s segments): Janus writes its files, the lease holders make the segments; "kept up" is
the ledgered media seconds per room per wall second (1.00: every room's recording keeps real time).

    .venv/bin/python benchmarks/bench_sfu.py [--rooms 30] [--viewers 50] [--seconds 20] [--window 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from aiortc import RTCPeerConnection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_av import cpu_seconds, machine_busy  # noqa: E402
from bench_cameras import Cameras, publish_rooms  # noqa: E402
from bench_openings import TOKEN, open_room  # noqa: E402

from sfu.janus_conf import JanusProcess  # noqa: E402
from tests.av_monitor.crash_support import (  # noqa: E402
    RECEIVED,
    Service,
    ledger_payloads,
    login,
    prepare_database,
    watch,
)
from tests.e2e.support import free_port  # noqa: E402

ADMIN_KEY = "bench-admin-key"


async def viewers_helper(bases: list[str], rooms: list[str], layer: str, public: bool) -> None:
    """A helper process: watch each of `rooms` (through `bases` in turn); on a line, print the video counts."""
    pcs: list[RTCPeerConnection] = []
    clients = [httpx.AsyncClient(base_url=b, timeout=120) for b in bases]
    headers = [{} if public else await login(c, "super") for c in clients]
    for i, room in enumerate(rooms):
        client, head = clients[i % len(clients)], headers[i % len(clients)]
        endpoint = f"/api/watch/{TOKEN}/whep" if public else None
        pcs.append((await watch(client, head, room, layer, decode=False, endpoint=endpoint))[0])
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        print(json.dumps([RECEIVED[pc]["video"] for pc in pcs]), flush=True)
    for pc in pcs:
        await pc.close()
    for c in clients:
        await c.aclose()


async def spawn(*args: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, *args, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = (await proc.stdout.readline()).decode().strip()
    if line != "ready":
        raise RuntimeError(f"helper {args[:1]} did not start: {line!r}")
    return proc


async def ask(proc: asyncio.subprocess.Process) -> list[int]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"report\n")
    await proc.stdin.drain()
    return list(json.loads(await proc.stdout.readline()))


def media_seconds(database: Path) -> float:
    """Seconds of media in the ledgered segments so far."""
    return sum(float(p["duration"]) for p in ledger_payloads(database, "av.segment"))


async def measure(args: argparse.Namespace, services: list[Service], janus: JanusProcess,
                  helpers: list[asyncio.subprocess.Process], watchers: list[asyncio.subprocess.Process],
                  database: Path) -> dict[str, float]:
    assert janus.proc is not None
    media0 = media_seconds(database)
    before = [await ask(w) for w in watchers]
    product, sfu, others = [], [], []
    busy0, wall0 = machine_busy(), time.monotonic()
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        p0 = sum(cpu_seconds(s.pid) for s in services)
        j0, h0, t0 = cpu_seconds(janus.proc.pid), sum(cpu_seconds(h.pid) for h in helpers), time.monotonic()
        await asyncio.sleep(args.window)
        dt = time.monotonic() - t0
        product.append(100 * (sum(cpu_seconds(s.pid) for s in services) - p0) / dt)
        sfu.append(100 * (cpu_seconds(janus.proc.pid) - j0) / dt)
        others.append(100 * (sum(cpu_seconds(h.pid) for h in helpers) - h0) / dt)
    busy1, elapsed = machine_busy(), time.monotonic() - wall0
    kept_up = (media_seconds(database) - media0) / (elapsed * args.rooms)
    after = [await ask(w) for w in watchers]
    wall = [(b - a) / elapsed for a, b in zip(before[0], after[0], strict=True)]
    fps = [(b - a) / elapsed for x, y in zip(before[1:], after[1:], strict=True)
           for a, b in zip(x, y, strict=True)]
    return {"kept_up": kept_up, "wall_min": min(wall), "wall_median": statistics.median(wall),
            "wall_viewers": float(len(wall)),
            "product": statistics.median(product), "janus": statistics.median(sfu),
            "helpers": statistics.median(others), "busy": 100 * (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]),
            "fps_min": min(fps) if fps else 0.0, "fps_median": statistics.median(fps) if fps else 0.0,
            "viewers": float(len(fps) + len(wall))}


async def bench(args: argparse.Namespace, work: Path) -> None:
    database = work / "bench.db"
    rooms = prepare_database(database, extra_rooms=args.rooms - 1)
    open_room(database)
    janus = JanusProcess(work / "janus", http_port=free_port(), log=work / "janus.log", admin_key=ADMIN_KEY)
    janus.start()
    env = {"YIDI_AV_BACKEND": "janus", "YIDI_SFU_JANUS_URL": janus.url, "YIDI_SFU_ADMIN_KEY": ADMIN_KEY,
           "YIDI_OPENING_MAX_VIEWERS": "10000", "YIDI_SFU_MAX_VIEWERS_PER_ROOM": "10000"}
    services = [Service(database, work / "rec", work / f"{name}.log", segment_seconds=4.0, extra_env=env)
                for name in "AB"]
    procs: list[asyncio.subprocess.Process] = []
    try:
        for s in services:
            s.start()
        half = len(rooms) // 2
        for base, part in ((services[0].base, rooms[:half]), (services[1].base, rooms[half:])):
            for i in range(0, len(part), 8):  # 8 rooms per helper: the helpers spread over both cores
                procs.append(await spawn("--publish", base, ",".join(part[i:i + 8])))
        await asyncio.sleep(3)
        wall = await spawn("--watch", services[1].base, ",".join(rooms), "thumb", "staff")
        procs.append(wall)
        await asyncio.sleep(args.warmup)
        rows = [("wall", await measure(args, services, janus, procs, [wall], database))]
        if args.viewers:
            bases = f"{services[0].base},{services[1].base}"
            crowd = [await spawn("--watch", bases, ",".join(["MAIN-R1"] * (args.viewers // 2 + extra)), "full",
                                 "public") for extra in (args.viewers % 2, 0)]
            procs += crowd
            await asyncio.sleep(args.warmup)
            rows.append((f"wall + {args.viewers} opening viewers",
                         await measure(args, services, janus, procs, [wall, *crowd], database)))
    finally:
        for p in procs:
            if p.stdin is not None:
                p.stdin.close()
            await p.wait()
        for s in services:
            s.stop()
        janus.stop()
    print(f"\n{args.rooms} rooms published through 2 service processes, {args.rooms}-tile wall through B "
          f"(median of {args.window:g}-s windows over {args.seconds:g} s; 100 % = one core)")
    print(f"{'step':<28} {'A+B':>7} {'Janus':>7} {'helpers':>8} {'machine':>8} {'viewers':>8} {'tile fps':>10} "
          f"{'viewer fps':>11} {'kept up':>8}")
    for name, r in rows:
        print(f"{name:<28} {r['product']:>6.1f}% {r['janus']:>6.1f}% {r['helpers']:>7.1f}% {r['busy']:>7.1f}% "
              f"{r['viewers']:>8.0f} {r['wall_min']:>4.1f}/{r['wall_median']:<5.1f} "
              + (f"{r['fps_min']:>5.1f}/{r['fps_median']:<5.1f}" if r["viewers"] > r["wall_viewers"] else "     —     ")
              + f" {r['kept_up']:>8.2f}")
    if len(rows) == 2 and args.viewers:
        print(f"Janus per opening viewer: {(rows[1][1]['janus'] - rows[0][1]['janus']) / args.viewers:.2f} % of a "
              f"core; A+B per viewer: {(rows[1][1]['product'] - rows[0][1]['product']) / args.viewers:.3f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=30)
    parser.add_argument("--viewers", type=int, default=50, help="anonymous viewers of the public opening")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--window", type=float, default=4)
    parser.add_argument("--warmup", type=float, default=6)
    parser.add_argument("--publish", nargs=2, metavar=("BASE", "ROOMS"), help=argparse.SUPPRESS)
    parser.add_argument("--watch", nargs=4, metavar=("BASES", "ROOMS", "LAYER", "WHO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        cameras = Cameras(codec="video/H264", bitrate=600_000, low_bitrate=110_000, low_layer=True)
        asyncio.run(publish_rooms(cameras, args.publish[0], args.publish[1].split(",")))
    elif args.watch:
        bases, rooms, layer, who = args.watch
        asyncio.run(viewers_helper(bases.split(","), rooms.split(","), layer, who == "public"))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
