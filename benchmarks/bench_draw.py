"""Benchmark the draw on a realistic day: 150 projects, 20,000 experts, ~40 sites.

Prints, for several seeds: whole-CLI wall time and peak memory (a fresh `yidi draw` process each
run), projects drawn, sampling method, rule violations found by the independent checker
(tests/checker.py), and the in-process time of a single-project draw. Medians over the runs.

    .venv/bin/python benchmarks/bench_draw.py [--runs 5] [--experts 20000] [--projects 150]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.demo_data import generate  # noqa: E402
from scheduler.draw import draw_parsed  # noqa: E402
from scheduler.encoder import encode  # noqa: E402
from scheduler.instance import parse_instance  # noqa: E402
from scheduler.solver.dayplan import solve_day  # noqa: E402
from scheduler.solver.project import DrawConfig  # noqa: E402
from tests.checker import check  # noqa: E402


def _cli_run(instance: Path, seed: str) -> tuple[float, float, dict]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run([str(ROOT / ".venv/bin/yidi"), "draw", str(instance), "--seed", seed, "--no-progress"],
                         check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: report it only when it grew or first run.
    return wall, max(peak, before) / 1024, json.loads(out.stdout)


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--experts", type=int, default=20_000)
    ap.add_argument("--projects", type=int, default=150)
    ap.add_argument("--single", type=int, default=20, help="single-project draws to time in-process")
    args = ap.parse_args()
    doc = generate(experts=args.experts, projects=args.projects)
    tmp = Path(tempfile.mkdtemp()) / "day.json"
    tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    print(f"instance: {len(doc['experts'])} experts, {len(doc['sites'])} sites, {len(doc['projects'])} projects, "
          f"{len(doc['history'])} past committees, {tmp.stat().st_size / 1e6:.1f} MB")
    walls, peaks, drawn_share, violations = [], [], [], 0
    for i in range(args.runs):
        seed = f"{i + 1:02x}" * 16
        wall, peak, result = _cli_run(tmp, seed)
        status = Counter(p["status"] for p in result["projects"])
        sampling = Counter(p["sampling"] for p in result["projects"] if p["status"] == "drawn")
        bad = check(doc, result)
        violations += len(bad)
        unexplained = [p["project"] for p in result["projects"] if p["status"] != "drawn" and not p["unmet"]]
        walls.append(wall)
        peaks.append(peak)
        drawn_share.append(status["drawn"] / len(result["projects"]))
        print(f"run {i + 1}: CLI {wall:5.2f} s, peak RSS {peak:6.0f} MiB, drawn {status['drawn']}/"
              f"{len(result['projects'])}, sampling {dict(sampling)}, violations {len(bad)}, "
              f"unexplained {len(unexplained)}")
        for v in bad[:5]:
            print("   ", v)
    print(f"median CLI wall time {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); "
          f"peak RSS {max(peaks):.0f} MiB; drawn share median {statistics.median(drawn_share):.1%} "
          f"(min {min(drawn_share):.1%}); total violations {violations}")

    # A single project over the same pool: the whole in-process draw, and the solver alone.
    inst = parse_instance(doc)
    full, solver_only = [], []
    for k in range(args.single):
        one = dict(doc, projects=[doc["projects"][k % len(doc["projects"])]])
        one_inst = inst.model_copy(update={"projects": [inst.projects[k % len(inst.projects)]]})
        t0 = time.perf_counter()
        draw_parsed(one, one_inst, f"{k:04x}")
        full.append(time.perf_counter() - t0)
        problem, ids = encode(one_inst, __import__("config.rules").rules.RuleParams())
        t0 = time.perf_counter()
        solve_day(problem, ids.projects, bytes([k]), DrawConfig())
        solver_only.append(time.perf_counter() - t0)
    p95 = sorted(solver_only)[int(0.95 * len(solver_only))]
    print(f"single project, in-process: draw incl. hashing and encoding the 20k pool median "
          f"{statistics.median(full) * 1000:.0f} ms; solver alone (encoded pool) median "
          f"{statistics.median(solver_only) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
