"""A realistic demo province as one `draw-instance/1` document: sites, orgs, experts, history, a day."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from api import demo_catalog as cat
from api.demo_catalog import World, stamp
from api.demo_day import DayPlanner, plan_day
from api.demo_experts import build_experts, build_relations
from api.demo_history import build_bookings, build_history
from config.rules import RuleParams

# The builders live in api.demo_experts, api.demo_history and api.demo_day; re-exported for older imports.
__all__ = ["DAY", "DayPlanner", "build_bookings", "build_experts", "build_history", "build_relations", "generate",
           "main", "plan_day", "small"]

DAY = dt.date(2026, 11, 23)


def generate(*, seed: int = 2026, experts: int = 20_000, projects: int = 150, day: dt.date = DAY,
             sites_csv: Path | None = None) -> dict[str, Any]:
    """A realistic draw-instance/1 document: sites, orgs, experts, relations, history, one day of projects."""
    w = World(day=day, rng=random.Random(seed), nrng=np.random.default_rng(seed),
              regions=cat.load_regions(sites_csv))
    cat.build_sites(w)
    cat.build_orgs(w, max(300, experts // 8))
    build_experts(w, experts)
    build_relations(w)
    build_history(w)
    build_bookings(w)
    day_projects = plan_day(w, projects, RuleParams())
    stamps: dict[tuple[dt.date, int], str] = {}
    for d, *times, _, _ in w.history:
        for t in times:
            if (d, t) not in stamps:
                stamps[d, t] = stamp(d, t)
    ids = w.ex_ids
    seq: Counter[int] = Counter()
    names = []
    for d, *_ in w.history:
        seq[d.year] += 1
        names.append(f"P-{d.year}-{seq[d.year]:06d}")
    history = [{"project": names[k], "tenderer": w.org_id(t), "start": stamps[d, s],
                "end": stamps[d, e], "experts": [ids[x] for x in sorted(m)]}
               for k, (d, s, e, t, m) in enumerate(w.history)]
    return {
        "format": "draw-instance/1",
        "rules": {},
        "sites": w.sites,
        "orgs": [{"id": w.org_id(i), "name": name} for i, name in enumerate(w.org_names)],
        "experts": w.experts,
        "relations": w.relations,
        "penalties": w.penalties,
        "history": history,
        "bookings": [{"expert": w.ex_id(e), "start": stamp(day, s), "end": stamp(day, t)}
                     for e, s, t in w.bookings],
        "room_bookings": w.room_bookings,
        "projects": day_projects,
    }


def small(*, seed: int = 2026, day: dt.date = DAY) -> dict[str, Any]:
    """A small province (1,500 experts, 12 projects) for the quick demo service."""
    return generate(seed=seed, experts=1_500, projects=12, day=day)


def main(argv: list[str] | None = None) -> int:
    """`python -m api.demo_data --out FILE [--experts N --projects N --seed S --day YYYY-MM-DD]`."""
    ap = argparse.ArgumentParser(prog="python -m api.demo_data", description=__doc__)
    ap.add_argument("--out", type=Path, required=True, help="where to write the instance JSON")
    ap.add_argument("--experts", type=int, default=20_000)
    ap.add_argument("--projects", type=int, default=150)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--day", type=dt.date.fromisoformat, default=DAY, help="the day of the projects")
    ap.add_argument("--sites-csv", type=Path, default=None, help="reference regions (default: packaged)")
    args = ap.parse_args(argv)
    doc = generate(seed=args.seed, experts=args.experts, projects=args.projects, day=args.day,
                   sites_csv=args.sites_csv)
    args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.out}: {len(doc['sites'])} sites, {len(doc['experts'])} experts, "
          f"{len(doc['history'])} past committees, {len(doc['projects'])} projects on {args.day}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
