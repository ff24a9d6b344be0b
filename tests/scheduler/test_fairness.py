"""Rule D1: seeded draws of tiny instances are uniform over the brute-forced legal committees.

Each instance's legal committees are enumerated by tests/fairness.py without the engine; the engine's
1,000 seeded draws are compared with the uniform ideal by two chi-square statistics (inclusion of each
expert, co-inclusion of each pair) against their 99.5% quantiles under a perfect sampler, calibrated by
simulation. The same test must reject a deliberately biased sampler and the naive greedy draw.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pytest

from benchmarks.naive import naive_draw
from scheduler.draw import draw_instance
from tests.fairness import (
    INSTANCES,
    Case,
    PerfectSampler,
    Report,
    build_case,
    calibration_samples,
    committee_of,
    evaluate,
    run_draws,
    seed_for,
)

pytestmark = pytest.mark.slow
N_DRAWS = 1000
REPS = 5000
NAMES = list(INSTANCES)


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {name: build_case(name, N_DRAWS, REPS) for name in NAMES}


@pytest.fixture(scope="module")
def engine_runs(cases: dict[str, Case]) -> dict[str, tuple[list[dict[str, Any]], Report]]:
    out = {}
    for name, case in cases.items():
        results, seconds = run_draws(draw_instance, case.doc, N_DRAWS)
        out[name] = (results, evaluate(case, "engine", results, seconds))
    return out


def test_enumeration_matches_closed_form_counts(cases: dict[str, Case]) -> None:
    # (a) C(30,3); (b) choose employers, then one of two experts at each paired one;
    # (d) ≤ 2 of 8 local, the 6 others avoiding the two familiar pairs (E009+E010, E011+E012).
    pairs = sum(math.comb(6, k) * math.comb(4, 4 - k) * 2**k for k in range(5))
    nonlocal_sets = {0: 1, 1: 6, 2: 15 - 2, 3: 20 - 2 * 4, 4: 15 - 6 - 6 + 1}
    local = sum(math.comb(8, k) * nonlocal_sets[4 - k] for k in range(3))
    assert len(cases["uniform"].legal.committees) == math.comb(30, 3)
    assert len(cases["employer_pairs"].legal.committees) == pairs
    assert len(cases["local_share"].legal.committees) == local
    for case in cases.values():
        assert len(set(case.legal.committees)) == len(case.legal.committees)


def test_three_sites_couples_experts_through_seating(cases: dict[str, Case]) -> None:
    case = cases["three_sites"]
    experts = {k.split(":")[1] for k in case.ideal}
    assert "E019" not in experts and "E020" not in experts  # out of reach, no matching specialty
    # An A1-only expert is needed far more often than a main-only one with the same specialty.
    assert case.ideal["A08:E008"] > case.ideal["A08:E001"] + 0.03
    for seating in case.legal.seatings[::97]:
        sites = Counter(site for site, _ in seating.values())
        assert 1 <= sites["M"] <= 3 and sites["A1"] >= 1 and sites["A2"] >= 1


@pytest.mark.parametrize("name", NAMES)
def test_calibration_mean_matches_theory(cases: dict[str, Case], name: str) -> None:
    # Each count is Binomial(n, p) marginally, so E[Σ (obs−np)²/np] = Σ (1−p) whatever the coupling.
    case = cases[name]
    rng = np.random.default_rng(7)
    for stat, ideal in (("inclusion", case.ideal), ("pairs", case.pair_ideal)):
        sims = calibration_samples(case.legal.committees, N_DRAWS, 1000, rng, statistic=stat)
        assert sims.mean() == pytest.approx(sum(1 - p for p in ideal.values()), rel=0.05)


def test_enumerated_committees_pass_the_checker(cases: dict[str, Case]) -> None:
    # The brute force and tests/checker.py read the rules independently: every 5th legal committee,
    # seated as enumerated, must break nothing but D2 (the perfect sampler names no alternates).
    checker = pytest.importorskip("tests.checker")
    for name, case in cases.items():
        sampler = PerfectSampler(case.doc, case.legal)
        for i in range(0, len(case.legal.committees), 5):
            result = sampler.draw_index(i)
            assert committee_of(result["projects"][0], case.legal.multi_need) == case.legal.committees[i]
            broken = [v for v in checker.check(case.doc, result) if v.rule != "D2"]
            assert not broken, f"{name}: {case.legal.committees[i]} {broken}"


def test_engine_results_pass_the_checker(cases: dict[str, Case], engine_runs: dict[str, Any]) -> None:
    checker = pytest.importorskip("tests.checker")
    for name, (results, _) in engine_runs.items():
        violations = Counter(v.rule for r in results for v in checker.check(cases[name].doc, r))
        assert not violations, f"{name}: {dict(violations)}"


@pytest.mark.parametrize("name", NAMES)
def test_engine_draws_only_legal_committees_exactly(engine_runs: dict[str, Any], name: str) -> None:
    results, report = engine_runs[name]
    assert report.n_drawn == N_DRAWS, "a feasible project came back undrawn"
    assert report.n_illegal == 0, "a committee outside the brute-forced legal set"
    assert {r["projects"][0]["sampling"] for r in results} == {"exact"}


@pytest.mark.parametrize("name", NAMES)
def test_engine_is_uniform_over_legal_committees(engine_runs: dict[str, Any], name: str) -> None:
    report: Report = engine_runs[name][1]
    assert report.statistic <= report.threshold, report
    assert report.pair_statistic <= report.pair_threshold, report


def test_engine_replays_identically(cases: dict[str, Case], engine_runs: dict[str, Any]) -> None:
    for name in ("three_sites", "local_share"):
        assert draw_instance(cases[name].doc, seed_for(3)) == engine_runs[name][0][3]


@pytest.mark.parametrize("name", NAMES)
def test_perfect_sampler_passes(cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    results, seconds = run_draws(PerfectSampler(case.doc, case.legal), case.doc, N_DRAWS, prefix="perfect")
    assert evaluate(case, "perfect", results, seconds).passed


@pytest.mark.parametrize("name", NAMES)
def test_one_expert_at_double_weight_is_rejected(cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    favoured = min(case.ideal, key=lambda k: (case.ideal[k], k))
    sampler = PerfectSampler(case.doc, case.legal, favour={favoured: 2.0})
    results, seconds = run_draws(sampler, case.doc, N_DRAWS, prefix="biased")
    report = evaluate(case, "biased", results, seconds)
    assert report.n_illegal == 0
    assert report.statistic > report.threshold


def test_naive_greedy_draw_is_rejected(cases: dict[str, Case]) -> None:
    reports = {}
    for name in ("three_sites", "local_share"):
        results, seconds = run_draws(naive_draw, cases[name].doc, N_DRAWS, prefix="naive")
        reports[name] = evaluate(cases[name], "naive", results, seconds)
    assert all(r.n_illegal == 0 for r in reports.values()), "the baseline must draw only legal committees"
    assert not any(r.passed for r in reports.values()), reports
    # Nearest-site seating misses the quotas on some draws although every project is feasible.
    assert reports["three_sites"].n_drawn < N_DRAWS
