"""Load benchmark of the HTTP service: project list and draw endpoint under concurrent load.

Builds a demo province (default 5,000 experts, 40 projects) in a fresh database, starts the real
service (uvicorn, one process) on a free loopback port, logs in as the demo coordinator and then:
  1. GET /api/projects?limit=50 from `--concurrency` concurrent clients for `--seconds` seconds;
  2. POST /api/draws, one draw per project of the day, from `--draw-concurrency` concurrent clients.
Prints requests per second, p50/p95 latency and the service process's memory (RSS now and peak).
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.

    .venv/bin/python benchmarks/bench_service.py [--experts 5000 --projects 40 --db sqlite|PG_URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _load_database(env: dict[str, str], experts: int, projects: int) -> list[str]:
    code = (
        "import json,sys\n"
        "from api.demo_data import generate\n"
        "from api.dbcli import import_db, ensure_demo_users\n"
        "from config.db import get_engine\n"
        "from sqlmodel import Session\n"
        "import datetime as dt\n"
        # A week ahead, as `yidi serve --demo`: a project that has started can no longer be drawn.
        f"doc = generate(experts={experts}, projects={projects}, day=dt.date.today() + dt.timedelta(days=7))\n"
        "import_db(doc)\n"
        "with Session(get_engine()) as s: ensure_demo_users(s)\n"
        "print(json.dumps([p['id'] for p in doc['projects']]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    import json

    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def _summary(name: str, latencies: list[float], elapsed: float, errors: int) -> str:
    lat = sorted(latencies)
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
    return (f"{name}: {len(lat)} ok, {errors} errors in {elapsed:.1f} s -> {len(lat) / elapsed:.1f} req/s, "
            f"p50 {statistics.median(lat) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms" if lat else f"{name}: no answers")


async def _list_load(base: str, headers: dict[str, str], concurrency: int, seconds: float) -> str:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            r = await client.get("/api/projects", params={"limit": 50}, headers=headers)
            if r.status_code == 200:
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1

    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return _summary(f"project list, {concurrency} concurrent clients", latencies, time.perf_counter() - t0, errors)


async def _draw_load(base: str, headers: dict[str, str], codes: list[str], concurrency: int) -> str:
    latencies: list[float] = []
    errors = 0
    queue = list(codes)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            code = queue.pop()
            t0 = time.perf_counter()
            r = await client.post("/api/draws", json={"project_codes": [code]}, headers=headers)
            if r.status_code == 201:
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1

    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return _summary(f"draw endpoint, {concurrency} concurrent clients", latencies, time.perf_counter() - t0, errors)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=5000)
    ap.add_argument("--projects", type=int, default=40)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--draw-concurrency", type=int, default=4)
    ap.add_argument("--db", default="sqlite", help="sqlite (a temp file) or a PostgreSQL admin URL")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="yidi-bench-"))
    pg_admin, pg_name = None, None
    if args.db == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        pg_name = f"yidi_bench_{uuid.uuid4().hex[:8]}"
        pg_admin = create_engine(args.db, isolation_level="AUTOCOMMIT")
        with pg_admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        url = make_url(args.db).set(database=pg_name).render_as_string(hide_password=False)
    port = _free_port()
    env: dict[str, Any] = {**os.environ, "YIDI_DATABASE_URL": url, "YIDI_PORT": str(port),
                           "YIDI_SEAL_KEY_FILE": str(tmp / "seal.key"), "YIDI_SECRET_KEY_FILE": str(tmp / "secret.key"),
                           "YIDI_JOBS_ENABLED": "false", "YIDI_LOG_LEVEL": "WARNING"}
    t0 = time.perf_counter()
    codes = _load_database(env, args.experts, args.projects)
    print(f"database: {args.db.split('://')[0]}, {args.experts} experts, {len(codes)} projects "
          f"(loaded in {time.perf_counter() - t0:.1f} s)")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the service did not start")
            time.sleep(0.3)
        rss, peak = _memory_kib(proc.pid)
        print(f"service memory after start: RSS {rss / 1024:.0f} MiB")
        from config.settings import Settings

        password = Settings().demo_password
        token = httpx.post(f"{base}/api/auth/token", data={"username": "coordinator", "password": password},
                           timeout=30).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for c in args.concurrency:
            print(asyncio.run(_list_load(base, headers, c, args.seconds)))
        print(asyncio.run(_draw_load(base, headers, codes, args.draw_concurrency)))
        rss, peak = _memory_kib(proc.pid)
        print(f"service memory after the load: RSS {rss / 1024:.0f} MiB, peak RSS {peak / 1024:.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if pg_admin is not None:
            from sqlalchemy import text

            with pg_admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
