"""Benchmark moving a realistic pool between the instance format and the database.

Imports the 20,000-expert demo province (with a year of past committees) into a fresh SQLite
database and, when reachable, a throw-away PostgreSQL database; re-imports it (no changes) and
exports it. Prints wall times, medians over --runs.

    .venv/bin/python benchmarks/bench_import.py [--runs 3] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from api.demo_data import generate  # noqa: E402
from api.schema import create_all  # noqa: E402
from benchmarks import databases  # noqa: E402
from benchmarks.databases import drop_databases  # noqa: E402
from config.db import make_engine  # noqa: E402
from evaluation.export import export_instance  # noqa: E402
from evaluation.importer import import_instance  # noqa: E402


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _once(url: str, doc: dict) -> tuple[float, float, float]:
    engine = make_engine(url)
    create_all(engine)
    with Session(engine) as s:
        first, _ = _timed(lambda: (import_instance(s, doc), s.commit()))
    with Session(engine) as s:
        again, rep = _timed(lambda: import_instance(s, doc))
        assert rep.changes == 0
    with Session(engine) as s:
        exp, out = _timed(lambda: export_instance(s))
        assert len(out["experts"]) == len(doc["experts"])
    engine.dispose()
    return first, again, exp


def main() -> None:
    """Run and print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    doc = generate()
    print(f"pool: {len(doc['experts'])} experts, {len(doc['history'])} past committees")
    targets, admin = databases.targets(args.pg)
    for name, make_url in targets:
        rows = [_once(make_url(), doc) for _ in range(args.runs)]
        if name == "postgresql":
            drop_databases(admin)
        med = [statistics.median(col) for col in zip(*rows, strict=True)]
        print(f"{name:10s} import {med[0]:5.1f} s, re-import (no changes) {med[1]:5.1f} s, "
              f"export {med[2]:5.1f} s  (median of {args.runs})")


if __name__ == "__main__":
    main()
