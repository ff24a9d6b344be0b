"""Rule D1 measured: tiny instances, their legal committees by brute force, calibrated chi-square tests.

The instances live in tests/fairness_instances.py and the brute-force enumeration in
tests/fairness_legal.py; this module re-exports them next to the statistics and the samplers.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.fairness_instances import (
    EARTH_KM,
    END,
    INSTANCES,
    JN,
    KM_PER_DEG,
    START,
    instance_employer_pairs,
    instance_local_share,
    instance_three_sites,
    instance_uniform,
)
from tests.fairness_legal import Committee, Legal, enumerate_legal, enumerate_legal_seated, haversine_km

__all__ = [
    "EARTH_KM",
    "END",
    "INSTANCES",
    "JN",
    "KM_PER_DEG",
    "START",
    "Case",
    "Committee",
    "DrawFn",
    "Legal",
    "PerfectSampler",
    "Report",
    "build_case",
    "calibrate",
    "calibration_samples",
    "chi_square",
    "committee_of",
    "enumerate_legal",
    "enumerate_legal_seated",
    "evaluate",
    "haversine_km",
    "inclusion_ideal",
    "instance_employer_pairs",
    "instance_local_share",
    "instance_three_sites",
    "instance_uniform",
    "pair_ideal",
    "pairs_of",
    "run_draws",
    "seed_for",
]

DrawFn = Callable[[dict[str, Any], str], dict[str, Any]]


# ---------------------------------------------------------------- statistics


def inclusion_ideal(committees: Sequence[Committee]) -> dict[str, float]:
    """Each key's inclusion probability when committees are drawn uniformly."""
    counts = Counter(k for c in committees for k in c)
    return {k: v / len(committees) for k, v in sorted(counts.items())}


def pairs_of(committee: Committee) -> list[str]:
    """The unordered pairs of a committee's keys, as `a+b` strings."""
    return [f"{a}+{b}" for a, b in itertools.combinations(sorted(committee), 2)]


def pair_ideal(committees: Sequence[Committee]) -> dict[str, float]:
    """Each pair's joint inclusion probability under uniform committees."""
    counts = Counter(pr for c in committees for pr in pairs_of(c))
    return {k: v / len(committees) for k, v in sorted(counts.items())}


def chi_square(counts: dict[str, int], ideal: dict[str, float], n_draws: int) -> float:
    """Σ (obs−exp)²/exp over keys with exp > 0; infinity when a key of ideal probability 0 was drawn."""
    if any(v and ideal.get(k, 0.0) <= 0.0 for k, v in counts.items()):
        return math.inf
    return sum((counts.get(k, 0) - n_draws * q) ** 2 / (n_draws * q) for k, q in ideal.items() if q > 0)


def _matrix(committees: Sequence[Committee], statistic: str) -> tuple[np.ndarray, np.ndarray]:
    items = [pairs_of(c) if statistic == "pairs" else sorted(c) for c in committees]
    keys = sorted({k for it in items for k in it})
    col = {k: j for j, k in enumerate(keys)}
    m = np.zeros((len(items), len(keys)), dtype=np.float64)
    for i, it in enumerate(items):
        m[i, [col[k] for k in it]] = 1.0
    return m, m.mean(axis=0)


def calibration_samples(committees: Sequence[Committee], n_draws: int, reps: int, rng: np.random.Generator,
                        *, statistic: str = "inclusion") -> np.ndarray:
    """chi_square ("inclusion" or "pairs") of `reps` batches of `n_draws` perfectly uniform draws."""
    m, p = _matrix(committees, statistic)
    n_c, exp = len(committees), n_draws * p
    stats: list[np.ndarray] = []
    chunk = max(1, min(reps, 4_000_000 // max(n_c, 1)))
    for lo in range(0, reps, chunk):
        k = min(chunk, reps - lo)
        idx = rng.integers(0, n_c, size=(k, n_draws)) + (np.arange(k) * n_c)[:, None]
        per_committee = np.bincount(idx.ravel(), minlength=k * n_c).reshape(k, n_c).astype(np.float64)
        obs = per_committee @ m
        stats.append((((obs - exp) ** 2) / exp).sum(axis=1))
    return np.concatenate(stats)


def calibrate(committees: Sequence[Committee], n_draws: int, reps: int, rng: np.random.Generator,
              *, statistic: str = "inclusion", quantile: float = 0.995) -> float:
    """The `quantile` of chi_square over `reps` batches of `n_draws` draws of a perfect uniform sampler."""
    samples = calibration_samples(committees, n_draws, reps, rng, statistic=statistic)
    return float(np.quantile(samples, quantile))


# ---------------------------------------------------------------- samplers and evaluation


def seed_for(i: int, prefix: str = "fair") -> str:
    """The i-th fixed seed of a batch: sha256 of `prefix-i`, hex."""
    return hashlib.sha256(f"{prefix}-{i}".encode()).hexdigest()


class PerfectSampler:
    """Draws from the enumerated legal committees, uniformly unless `favour` multiplies some keys' weights."""

    def __init__(self, doc: dict[str, Any], legal: Legal, favour: dict[str, float] | None = None) -> None:
        self.project = doc["projects"][0]
        self.legal = legal
        weights = np.array([math.prod((favour or {}).get(k, 1.0) for k in c) for c in legal.committees])
        self.cdf = np.cumsum(weights)

    def __call__(self, doc: dict[str, Any], seed_hex: str) -> dict[str, Any]:
        """A draw-result/1 dict holding one committee (no alternates)."""
        rng = np.random.default_rng(int(seed_hex, 16))
        return self.draw_index(int(np.searchsorted(self.cdf, rng.random() * self.cdf[-1], side="right")))

    def draw_index(self, i: int) -> dict[str, Any]:
        """The result for the i-th enumerated committee, seated as enumerated."""
        only_need = self.project["needs"][0]["specialty"]
        seats = []
        for key in sorted(self.legal.committees[i]):
            need, _, expert = key.rpartition(":") if self.legal.multi_need else (only_need, "", key)
            site, room = self.legal.seatings[i][expert]
            seats.append({"expert": expert, "need": need, "site": site, "room": room})
        return {"format": "draw-result/1", "projects": [{
            "project": self.project["id"], "status": "drawn", "sampling": "exact",
            "aux_sites": list(self.project["aux_sites"] or []), "seats": seats, "alternates": [],
            "warnings": [], "unmet": []}]}


def committee_of(project_result: dict[str, Any], multi_need: bool) -> Committee | None:
    """The committee key of one project's result, None when it was not drawn."""
    if project_result.get("status") != "drawn":
        return None
    seats = project_result["seats"]
    return frozenset(f"{s['need']}:{s['expert']}" if multi_need else s["expert"] for s in seats)


@dataclass(frozen=True)
class Case:
    """A fairness instance with its legal committees and calibrated 99.5% thresholds."""

    name: str
    doc: dict[str, Any]
    legal: Legal
    ideal: dict[str, float]
    pair_ideal: dict[str, float]
    n_draws: int
    threshold: float
    pair_threshold: float


def build_case(name: str, n_draws: int, reps: int = 2000, seed: int = 20261123) -> Case:
    """Enumerate an instance of INSTANCES and calibrate both statistics under a perfect sampler."""
    doc = INSTANCES[name]()
    legal = enumerate_legal_seated(doc)
    rng = np.random.default_rng(seed)
    return Case(name, doc, legal, inclusion_ideal(legal.committees), pair_ideal(legal.committees), n_draws,
                calibrate(legal.committees, n_draws, reps, rng),
                calibrate(legal.committees, n_draws, reps, rng, statistic="pairs"))


@dataclass(frozen=True)
class Report:
    """How one sampler's batch of draws compares with the uniform distribution over legal committees."""

    case: str
    sampler: str
    n_draws: int
    n_drawn: int
    n_illegal: int
    statistic: float
    threshold: float
    pair_statistic: float
    pair_threshold: float
    max_deviation: float
    draws_per_s: float

    @property
    def passed(self) -> bool:
        """Every draw legal and both statistics within their calibrated 99.5% quantiles."""
        return (self.n_drawn == self.n_draws and self.n_illegal == 0 and self.statistic <= self.threshold
                and self.pair_statistic <= self.pair_threshold)


def evaluate(case: Case, sampler: str, results: Sequence[dict[str, Any]], seconds: float) -> Report:
    """Compare the committees of a batch of draw results with the case's ideal."""
    legal = set(case.legal.committees)
    drawn = [c for r in results if (c := committee_of(r["projects"][0], case.legal.multi_need)) is not None]
    inc = Counter(k for c in drawn for k in c)
    pairs = Counter(pr for c in drawn for pr in pairs_of(c))
    n = len(drawn)
    keys = set(case.ideal) | set(inc)
    dev = max((abs(inc.get(k, 0) / max(n, 1) - case.ideal.get(k, 0.0)) for k in keys), default=0.0)
    return Report(case.name, sampler, len(results), n, sum(c not in legal for c in drawn),
                  chi_square(inc, case.ideal, n), case.threshold, chi_square(pairs, case.pair_ideal, n),
                  case.pair_threshold, dev, len(results) / seconds if seconds > 0 else math.inf)


def run_draws(draw: DrawFn, doc: dict[str, Any], n: int,
              prefix: str = "fair") -> tuple[list[dict[str, Any]], float]:
    """Run `n` seeded draws of `doc`; return the results and the seconds they took."""
    t0 = time.perf_counter()
    results = [draw(doc, seed_for(i, prefix)) for i in range(n)]
    return results, time.perf_counter() - t0
