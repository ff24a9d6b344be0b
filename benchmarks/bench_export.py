"""Benchmark of the draw service's instance path: export → parse → canonical hash, stage by stage.

Builds the demo province (default 5,000 experts, 40 projects, a year of past committees) in a
temporary SQLite database (or a throw-away PostgreSQL database with --pg), runs --draws
single-project draws so that `with_drawn` has committees to add, then times for one project and for
the whole day: export_instance(with_drawn=True), parse_instance, canonical_bytes + SHA-256 (process
CPU time, medians over --runs; a collection the collector deferred is paid by the next stage). With
--baseline REV (e.g. HEAD) the same stages of evaluation/export.py and scheduler/instance.py as of
that git revision run interleaved with the current ones, their canonical bytes are compared, and
the ratio old/new is printed.

    .venv/bin/python benchmarks/bench_export.py [--experts 5000 --projects 40 --runs 7 --baseline HEAD]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="yidi-bench-export-"))
# The draws seal their results: a throw-away key, never the deployment's.
os.environ["YIDI_SEAL_KEY_FILE"] = str(TMP / "seal.key")
os.environ.setdefault("YIDI_LOG_LEVEL", "WARNING")

from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from api.demo_data import generate  # noqa: E402
from api.schema import create_all  # noqa: E402
from config.db import make_engine  # noqa: E402
from evaluation import export as export_mod  # noqa: E402
from evaluation.importer import import_instance  # noqa: E402
from evaluation.service import deployment_rules, draw  # noqa: E402
from scheduler import instance as instance_mod  # noqa: E402

Stages = tuple[Callable[..., dict[str, Any]], Callable[[Any], Any], Callable[[Any], bytes]]


def _module_at(rev: str, path: str, name: str) -> types.ModuleType:
    src = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    mod = types.ModuleType(name)
    mod.__file__ = f"{rev}:{path}"
    sys.modules[name] = mod  # pydantic resolves the models' annotations through sys.modules
    exec(compile(src, mod.__file__, "exec"), mod.__dict__)
    return mod


def _once(stages: Stages, session: Session, codes: list[str], rules: dict[str, Any]) -> tuple[list[float], bytes]:
    export, parse, canonical = stages
    # CPU time of this process (SQLite runs in it; a PostgreSQL server's own work is not counted):
    # steadier than wall time on a shared machine, and what a draw costs the service.
    t0 = time.process_time()
    doc = export(session, project_codes=codes, rules=rules, with_drawn=True)
    t1 = time.process_time()
    parse(doc)
    t2 = time.process_time()
    data = canonical(doc)
    instance_mod.sha256_hex(data)
    t3 = time.process_time()
    return [t1 - t0, t2 - t1, t3 - t2, t3 - t0], data


def _load(url: str, experts: int, projects: int, draws: int) -> list[str]:
    engine = make_engine(url)
    create_all(engine)
    doc = generate(experts=experts, projects=projects)
    codes = [p["id"] for p in doc["projects"]]
    with Session(engine) as s:
        import_instance(s, doc)
        s.commit()
        for i, code in enumerate(codes[:draws]):
            draw(s, project_codes=[code], seed_hex=f"{i + 1:064x}")
    return codes


def _bench(url: str, codes: list[str], draws: int, runs: int, variants: dict[str, Stages]) -> None:
    rules = deployment_rules().as_json()
    cases = {"one project": codes[draws:draws + 1], "whole day": codes}
    names = ["export", "parse", "hash", "total"]
    with Session(make_engine(url)) as s:
        for label, pcs in cases.items():
            times: dict[str, list[list[float]]] = {v: [] for v in variants}
            outputs: dict[str, bytes] = {}
            for _ in range(runs):
                for v, stages in variants.items():  # interleaved, so load drifts hit both alike
                    t, outputs[v] = _once(stages, s, pcs, rules)
                    times[v].append(t)
            med = {v: [statistics.median(r[i] for r in rs) * 1000 for i in range(4)] for v, rs in times.items()}
            print(f"{label} ({len(pcs)} projects, {len(outputs['new']) / 1e6:.1f} MB canonical), "
                  f"median of {runs} runs, CPU ms:")
            for v, ms in med.items():
                print(f"  {v:4s} " + "  ".join(f"{n} {x:7.1f}" for n, x in zip(names, ms, strict=True)))
            if "old" in med:
                same = outputs["old"] == outputs["new"]
                print("  old/new " + "  ".join(f"{n} {o / n_:5.2f}x" for n, o, n_ in
                                               zip(names, med["old"], med["new"], strict=True))
                      + f"  canonical bytes identical: {same}")
                if not same:
                    raise SystemExit("the baseline and the current export differ")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=5000)
    ap.add_argument("--projects", type=int, default=40)
    ap.add_argument("--draws", type=int, default=8, help="single-project draws made before timing")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--baseline", default=None, help="git revision to compare with, e.g. HEAD")
    ap.add_argument("--pg", default=None, help="PostgreSQL admin URL (a throw-away database is created)")
    args = ap.parse_args(argv)
    variants: dict[str, Stages] = {}
    if args.baseline:
        old_instance = _module_at(args.baseline, "scheduler/instance.py", "_baseline_instance")
        old_export = _module_at(args.baseline, "evaluation/export.py", "_baseline_export")
        variants["old"] = (old_export.export_instance, old_instance.parse_instance, old_instance.canonical_bytes)
    variants["new"] = (export_mod.export_instance, instance_mod.parse_instance, instance_mod.canonical_bytes)
    admin, name = None, None
    if args.pg:
        from sqlalchemy.engine import make_url

        name = f"yidi_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{TMP / 'bench.db'}"
    try:
        t0 = time.perf_counter()
        codes = _load(url, args.experts, args.projects, args.draws)
        print(f"database: {url.split(':')[0]}, {args.experts} experts, {len(codes)} projects, {args.draws} drawn "
              f"(built in {time.perf_counter() - t0:.1f} s)")
        _bench(url, codes, args.draws, args.runs, variants)
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
