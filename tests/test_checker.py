"""Tests of the independent draw-result checker's building blocks: parameters, dates, distances, seating."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta

import pytest

from tests.checker import add_years, age_on, check, effective_params, haversine_km, peak_load, seating_exists
from tests.checker_mutations import expert_of, proj_of, rule_ids
from tests.factories_instance import second_project, tiny_day

# --- building blocks ----------------------------------------------------------------------------

def test_effective_params_layers() -> None:
    inst, _ = tiny_day()
    inst["rules"] = {"max_main_share": 0.5, "min_size": {"gp_tender": 9}, "junk": 1}
    params = effective_params(inst, {"max_main_share": "2/3", "max_age": 68})
    assert params.max_age == 68 and params.max_main_share * 10 == 5
    assert params.min_size == {"engineering_tender": 5, "gp_tender": 9, "gp_negotiation": 3}


def test_dates() -> None:
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert age_on(date(1961, 11, 23), date(2026, 11, 23)) == 65
    assert age_on(date(1961, 11, 24), date(2026, 11, 23)) == 64


def test_evaluation_date_is_local_to_the_start_offset() -> None:
    inst, res = tiny_day()
    # 2026-11-23 09:00 +08:00 is 2026-11-23 01:00 UTC; a leave of 22 November must not count.
    expert_of(inst, "E02")["leave"] = [{"from": "2026-11-22", "to": "2026-11-22"}]
    assert check(inst, res) == []
    proj_of(inst).update(start="2026-11-22T23:00:00+00:00", end="2026-11-23T02:00:00+00:00")
    assert rule_ids(check(inst, res)) == {"E8"}


def test_haversine() -> None:
    assert haversine_km(36.0, 117.0, 37.0, 117.0) == pytest.approx(6371.0088 * 3.141592653589793 / 180)
    assert haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(6371.0088 * 3.141592653589793)


def test_peak_load_is_per_moment() -> None:
    t = datetime.fromisoformat("2026-11-23T08:00:00+08:00")
    h = timedelta(hours=1)
    assert peak_load([(t, t + 2 * h, 3), (t + 2 * h, t + 4 * h, 4), (t + h, t + 3 * h, 2)]) == (6, t + 2 * h)
    assert peak_load([(t, t + h, 5), (t + h, t + 2 * h, 5)]) == (5, t)


def _brute_seating(allowed: list[frozenset[str]], lo: dict[str, int], hi: dict[str, int]) -> bool:
    for choice in itertools.product(*(sorted(a & set(lo)) for a in allowed)):
        counts = {s: choice.count(s) for s in lo}
        if all(lo[s] <= counts[s] <= hi[s] for s in lo):
            return True
    return False


def test_seating_exists_matches_brute_force() -> None:
    rng = random.Random(20261123)
    sites = ["M", "A", "B", "C"]
    outcomes = set()
    for _ in range(1500):
        used = sites[: rng.randint(1, 4)]
        allowed = [frozenset(s for s in used if rng.random() < 0.6) for _ in range(rng.randint(1, 6))]
        lo = {s: rng.randint(0, 2) for s in used}
        hi = {s: rng.randint(-1, 4) for s in used}
        expected = _brute_seating(allowed, lo, hi)
        outcomes.add(expected)
        assert seating_exists(allowed, lo, hi) is expected, (allowed, lo, hi)
    assert outcomes == {True, False}


def test_factory_instances_are_valid_documents() -> None:
    from scheduler.instance import parse_instance

    inst, _ = tiny_day()
    second_project(inst)
    assert [p.id for p in parse_instance(inst).projects] == ["P1", "P2"]
