"""Measures of the draw's randomness over repeated seeded draws (draw-rules.md, last section)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from scheduler.draw import derived_seed, draw_parsed
from scheduler.instance import Instance


def randomness_report(
    doc: dict[str, Any], inst: Instance, seed_hex: str, draws: int,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Per project and need: eligible count, estimated inclusion probabilities, predictability, entropy."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    eligible: dict[tuple[str, str], list[int]] = defaultdict(list)
    need_count: dict[tuple[str, str], int] = {}
    proposals: Counter[str] = Counter()
    drawn: Counter[str] = Counter()
    max_pred = 0.5
    for i in range(1, draws + 1):
        result = draw_parsed(doc, inst, derived_seed(seed_hex, i))
        max_pred = float(result["rules"]["max_predictability"])
        for p in result["projects"]:
            if p["status"] != "drawn":
                continue
            drawn[p["project"]] += 1
            if p["sampling"] == "exact":
                proposals[p["project"]] += p["proposals"]
            for rep in p["report"]:
                eligible[(p["project"], rep["need"])].append(rep["eligible"])
            for s in p["seats"]:
                counts[(p["project"], s["need"])][s["expert"]] += 1
        if progress:
            progress(1)
    needs = {(p.id, nd.specialty): nd.count for p in inst.projects for nd in p.needs}
    need_count.update(needs)
    out: dict[str, Any] = {"draws": draws, "seed": seed_hex, "projects": []}
    for p in inst.projects:
        n = drawn[p.id]
        rows = []
        log_space = 0.0
        for nd in p.needs:
            key = (p.id, nd.specialty)
            m = round(sum(eligible[key]) / len(eligible[key])) if eligible[key] else 0
            top = counts[key].most_common(1)
            est = top[0][1] / n if top and n else 0.0
            log_space += math.log2(math.comb(m, nd.count)) if m >= nd.count else 0.0
            rows.append({
                "need": nd.specialty, "count": nd.count, "eligible": m,
                "ideal_inclusion": round(nd.count / m, 6) if m else None,
                "max_inclusion_estimated": round(est, 6),
                "distinct_experts_drawn": len(counts[key]),
                "warning": est > max_pred or (m > 0 and nd.count / m > max_pred),
            })
        # Uniform over legal committees: entropy = log2(#legal) ≈ log2(∏ C(m_j, c_j) · acceptance rate).
        entropy = None
        if proposals[p.id]:
            entropy = round(log_space + math.log2(n / proposals[p.id]), 3)
        out["projects"].append({"project": p.id, "drawn": n, "needs": rows, "entropy_bits": entropy,
                                "acceptance_rate": round(n / proposals[p.id], 6) if proposals[p.id] else None})
    return out
