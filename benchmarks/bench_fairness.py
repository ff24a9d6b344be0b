"""Benchmark rule D1: the engine, the naive greedy draw and a perfect sampler on tiny instances; a full day.

Run from the repository root:
    .venv/bin/python -m benchmarks.bench_fairness [--draws 1000] [--reps 2000] [--day FILE --runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.naive import naive_draw
from scheduler.draw import draw_instance
from tests.checker import check
from tests.fairness import INSTANCES, DrawFn, PerfectSampler, Report, build_case, evaluate, run_draws

logger = logging.getLogger(__name__)
DAY_SEED = "5eed" * 16


def bench_instances(names: list[str], draws: int, reps: int) -> list[Report]:
    """Engine, naive and perfect sampler on each tiny instance, judged by the same calibrated tests."""
    reports = []
    for name in names:
        case = build_case(name, draws, reps)
        samplers: dict[str, DrawFn] = {"engine": draw_instance, "naive": naive_draw,
                                       "perfect": PerfectSampler(case.doc, case.legal)}
        for label, draw in samplers.items():
            results, seconds = run_draws(draw, case.doc, draws, prefix={"engine": "fair"}.get(label, label))
            reports.append(evaluate(case, label, results, seconds))
            logger.info("%s/%s done in %.1f s", name, label, seconds)
    return reports


def bench_day(path: Path, runs: int, seed: str) -> dict[str, Any]:
    """Median wall time of a full day for engine and naive, projects drawn, checker violations."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, Any] = {"file": str(path), "projects": len(doc["projects"]),
                           "experts": len(doc["experts"]), "runs": runs}
    for label, draw in (("engine", draw_instance), ("naive", naive_draw)):
        times, result = [], None
        for _ in range(runs):
            t0 = time.perf_counter()
            result = draw(doc, seed)
            times.append(time.perf_counter() - t0)
        assert result is not None
        violations = check(doc, result)
        out[label] = {
            "median_s": statistics.median(times), "times_s": times,
            "drawn": sum(p["status"] == "drawn" for p in result["projects"]),
            "approximate": sum(p.get("sampling") == "approximate" for p in result["projects"]),
            "violations": len(violations), "violations_by_rule": dict(Counter(v.rule for v in violations)),
            # The checker's messages name alternates; a committee violation is the graver kind.
            "alternate_violations": sum("alternate" in v.detail for v in violations),
        }
    return out


def _table(reports: list[Report]) -> str:
    head = (f"{'instance':<15}{'sampler':<9}{'drawn':>7}{'illegal':>8}{'chi2':>9}{'thr99.5':>9}"
            f"{'pair chi2':>11}{'pair thr':>10}{'max|dp|':>9}{'draws/s':>10}  verdict")
    lines = [head, "-" * len(head)]
    for r in reports:
        lines.append(f"{r.case:<15}{r.sampler:<9}{r.n_drawn:>7}{r.n_illegal:>8}{r.statistic:>9.1f}"
                     f"{r.threshold:>9.1f}{r.pair_statistic:>11.1f}{r.pair_threshold:>10.1f}"
                     f"{r.max_deviation:>9.3f}{r.draws_per_s:>10.0f}  {'PASS' if r.passed else 'FAIL'}")
    return "\n".join(lines)


def _day_table(day: dict[str, Any]) -> str:
    lines = [f"day {day['file']}: {day['projects']} projects, {day['experts']} experts, "
             f"median of {day['runs']} runs",
             f"{'method':<9}{'median s':>10}{'drawn':>8}{'approx':>8}{'violations':>12}{'on alts':>9}"
             "  by rule"]
    for label in ("engine", "naive"):
        d = day[label]
        lines.append(f"{label:<9}{d['median_s']:>10.2f}{d['drawn']:>8}{d['approximate']:>8}"
                     f"{d['violations']:>12}{d['alternate_violations']:>9}  {d['violations_by_rule'] or '-'}")
    return "\n".join(lines)


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    # An ideal-0 expert drawn makes a statistic infinite; JSON has no infinity, so it becomes null.
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=1000, help="seeded draws per sampler and instance")
    ap.add_argument("--reps", type=int, default=5000, help="perfect-sampler replications for the thresholds")
    ap.add_argument("--instances", default=",".join(INSTANCES), help="comma-separated names")
    ap.add_argument("--day", type=Path, help="a large draw-instance/1 file to time as a full day")
    ap.add_argument("--runs", type=int, default=3, help="runs of the day per method (median reported)")
    ap.add_argument("--seed", default=DAY_SEED, help="hex seed of the day draws")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    reports = bench_instances([n for n in args.instances.split(",") if n], args.draws, args.reps)
    day = bench_day(args.day, args.runs, args.seed) if args.day else None
    if args.json:
        rows = [_finite({**asdict(r), "passed": r.passed}) for r in reports]
        print(json.dumps({"draws": args.draws, "reps": args.reps, "quantile": 0.995, "instances": rows,
                          "day": day}, indent=2))
    else:
        print(f"D1 uniformity: {args.draws} seeded draws per row; thresholds = 99.5% quantiles of "
              f"{args.reps} perfect-sampler batches\n")
        print(_table(reports))
        if day:
            print()
            print(_day_table(day))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
