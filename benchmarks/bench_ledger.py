"""Benchmark the ledger's Merkle tree and checkpoints: append latency, a checkpoint's time, full verification.

1. Append latency (one entry per transaction, as the service writes them) with the Merkle nodes and without
   (tree.add_leaf replaced by a no-op), alternating in one run, on SQLite (a file) and PostgreSQL.
2. A checkpoint's time over ledgers of --sizes entries (bulk-loaded: rows and nodes hashed as append would)
   with ten minutes of the demo province's entries appended since the last checkpoint.
3. Full verification (chain, Merkle tree, every checkpoint): seconds per 100,000 entries.

The demo province's year is estimated from its day: 150 evaluations, each recorded in --rooms rooms for
--hours hours in segments of recording_segment_seconds (one av.segment entry each), plus --other entries
per evaluation (draw, notifications, check-ins, views); --days working days a year.

    .venv/bin/python benchmarks/bench_ledger.py [--runs 5] [--sizes 100000,1000000] [--pg URL]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

os.environ.setdefault("YIDI_LEDGER_SIGNING_KEY_FILE", str(Path(tempfile.mkdtemp()) / "bench-key.pem"))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from api.schema import create_all  # noqa: E402
from benchmarks import databases  # noqa: E402
from benchmarks.databases import drop_databases  # noqa: E402
from config.db import make_engine  # noqa: E402
from ledger import checkpoints, merkle, tree  # noqa: E402
from ledger.models import GENESIS_HASH, LedgerEntry, LedgerNode, entry_bytes, format_ts  # noqa: E402
from ledger.sampled import sampled_verify  # noqa: E402
from ledger.service import append, verify  # noqa: E402

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SAMPLE = 100_000  # the sampled check's window here (ledger_verify_window is 1,000,000 by default)
PAYLOAD = json.dumps({"duration": 4.0, "index": 0, "recording_id": "r" * 16, "sha256": "c" * 64},
                     separators=(",", ":"), sort_keys=True)


def _appends(url: str, n: int, with_tree: bool) -> float:
    """Median seconds per append (its own transaction) over n appends."""
    engine = make_engine(url)
    create_all(engine)
    real = tree.add_leaf
    if not with_tree:
        tree.add_leaf = lambda session, *, index, leaf: None  # type: ignore[assignment]
    try:
        times = []
        with Session(engine) as s:
            for i in range(n):
                t0 = time.perf_counter()
                append(s, kind="av.segment", subject="room:R1", payload={"index": i, "sha256": "c" * 64})
                s.commit()
                times.append(time.perf_counter() - t0)
    finally:
        tree.add_leaf = real  # type: ignore[assignment]
    engine.dispose()
    return statistics.median(times)


class Bulk:
    """Entries and their nodes, hashed exactly as append does, inserted in batches (fast, for big ledgers)."""

    def __init__(self) -> None:
        self.cr = merkle.CompactRange()
        self.prev = GENESIS_HASH

    def add(self, engine, n: int, subject: str = "room:R1") -> None:  # type: ignore[no-untyped-def]
        """Append n entries."""
        rows, nodes = [], []
        with Session(engine) as s:
            for _ in range(n):
                seq = self.cr.size + 1
                ts = T0 + timedelta(milliseconds=seq)
                data = entry_bytes(seq=seq, ts=format_ts(ts), actor="system", kind="av.segment", subject=subject,
                                   payload=PAYLOAD, prev_hash=self.prev)
                h = hashlib.sha256(data).hexdigest()
                rows.append({"seq": seq, "ts": ts, "actor": "system", "kind": "av.segment", "subject": subject,
                             "payload": PAYLOAD, "prev_hash": self.prev, "hash": h})
                nodes += [{"level": lv, "idx": ix, "hash": hh.hex()}
                          for lv, ix, hh in self.cr.append(merkle.leaf_hash(data))]
                self.prev = h
                if len(rows) >= 20_000:
                    s.execute(insert(LedgerEntry), rows)
                    s.execute(insert(LedgerNode), nodes)
                    rows, nodes = [], []
            if rows:
                s.execute(insert(LedgerEntry), rows)
                s.execute(insert(LedgerNode), nodes)
            s.commit()


def _checkpoint_times(url: str, size: int, new: int, runs: int, full: bool) -> tuple[float, float, float]:
    """(median s of a checkpoint with `new` entries since the last, s per 100k of verify, s of the sampled check)."""
    engine = make_engine(url)
    create_all(engine)
    bulk = Bulk()
    bulk.add(engine, size)
    now = T0 + timedelta(days=1)
    with Session(engine) as s:
        checkpoints.make(s, reason="manual", now=now)  # the first covers everything: read once
        s.commit()
    times = []
    for _ in range(runs):
        bulk.add(engine, new, "room:R2")
        with Session(engine) as s:
            t0 = time.perf_counter()
            checkpoints.make(s, reason="schedule", now=now)
            s.commit()
            times.append(time.perf_counter() - t0)
    with Session(engine) as s:
        t0 = time.perf_counter()
        report = verify(s) if full else None
        took = time.perf_counter() - t0
        assert report is None or report.ok, report.problems[:3]
        t0 = time.perf_counter()
        assert sampled_verify(s, window=SAMPLE).ok
        sampled = time.perf_counter() - t0
    engine.dispose()
    per100k = took / report.entries * 100_000 if report else float("nan")
    return statistics.median(times), per100k, sampled


def main() -> None:
    """Run and print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--appends", type=int, default=300)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--rooms", type=float, default=2.5)
    ap.add_argument("--hours", type=float, default=5.0)
    ap.add_argument("--other", type=int, default=60)
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--no-full", action="store_true", help="skip the full verification (big ledgers)")
    ap.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    per_day = int(150 * (args.rooms * args.hours * 3600 / 4.0 + args.other))
    per_year = per_day * args.days
    ten_minutes = int(per_day / (10 * 6))  # a 10-hour evaluation day
    print(f"demo province: ~{per_day:,} entries a day, ~{per_year:,} a year ({args.days} days); "
          f"~{ten_minutes:,} entries per 10 minutes of an evaluation day")
    targets, admin = databases.targets(args.pg)
    for name, make_url in targets:
        if args.only and name != args.only:
            continue
        pairs = [(_appends(make_url(), args.appends, False), _appends(make_url(), args.appends, True))
                 for _ in range(args.runs)]
        plain = statistics.median(p[0] for p in pairs)
        merk = statistics.median(p[1] for p in pairs)
        ratios = sorted(b / a for a, b in pairs)
        print(f"{name:10s} append: {plain * 1000:.2f} ms without the tree, {merk * 1000:.2f} ms with it "
              f"(ratio {statistics.median(ratios):.2f}, runs {ratios[0]:.2f}-{ratios[-1]:.2f}; median of {args.runs})")
        for size in (int(x) for x in args.sizes.split(",")):
            cp, per100k, sampled = _checkpoint_times(make_url(), size, ten_minutes, args.runs, not args.no_full)
            print(f"{name:10s} ledger of {size:>9,}: checkpoint with {ten_minutes:,} new entries {cp * 1000:.0f} ms "
                  f"(median of {args.runs}); full verify {per100k:.1f} s per 100,000 entries "
                  f"(a year: ~{per100k * per_year / 100_000 / 3600:.1f} h); the scheduled sampled check "
                  f"(window {SAMPLE:,}) {sampled:.1f} s")
    drop_databases(admin)

if __name__ == "__main__":
    main()
