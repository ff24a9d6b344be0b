"""The demo province's past year of committees: plausible in volume and legal by the rules of its own days."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from itertools import combinations

import pytest

from api.demo_data import DAY
from tests.demo_support import Doc, R, full_province, parse_dt


@pytest.fixture(scope="module")
def province() -> Doc:
    return full_province()


def _active(doc: Doc) -> list[Doc]:
    return [e for e in doc["experts"] if e["status"] == "active"]


def test_history_reads_like_a_year_of_legal_draws(province: Doc) -> None:
    hist, day_start = province["history"], parse_dt(f"{DAY.isoformat()}T00:00:00+08:00")
    seats = Counter(x for h in hist for x in h["experts"])
    assert 8 <= sum(seats[e["id"]] for e in _active(province)) / len(_active(province)) <= 10
    assert all(3 <= len(h["experts"]) <= 9 for h in hist) and Counter(len(h["experts"]) for h in hist)[5] > 0
    for h in hist:
        start, end = parse_dt(h["start"]), parse_dt(h["end"])
        assert day_start - timedelta(days=365) <= start < end < day_start and start.weekday() < 5
        assert (start.hour, end.hour) in ((9, 12), (9, 11), (14, 17))
    # Familiar faces and the limits bite: some experts are at the E6 limit, some pairs are familiar (P2),
    # some experts have sat twice with a tenderer of the day (E7), yet no past draw broke those rules.
    month = day_start - timedelta(days=30)
    last30 = Counter(x for h in hist if parse_dt(h["start"]) >= month for x in h["experts"])
    assert sum(v == R.max_per_30d for v in last30.values()) > 0 and max(last30.values()) <= R.max_per_30d
    same = Counter((h["tenderer"], x) for h in hist for x in h["experts"])
    tenderers = {p["tenderer"] for p in province["projects"]}
    assert sum(v >= 2 for (t, _), v in same.items() if t in tenderers) > 100 and max(same.values()) <= 2
    pairs = Counter(pair for h in hist if parse_dt(h["start"]) >= day_start - timedelta(days=180)
                    for pair in combinations(sorted(h["experts"]), 2))
    assert sum(v >= 2 for v in pairs.values()) > 1_000 and max(pairs.values()) <= 2


def test_every_past_committee_kept_the_limits_of_its_own_day(province: Doc) -> None:
    seen: dict[str, list[tuple[float, float]]] = defaultdict(list)
    met: dict[tuple[str, str], list[float]] = defaultdict(list)
    day = 86400
    for h in sorted(province["history"], key=lambda h: h["start"]):
        start, end = parse_dt(h["start"]).timestamp(), parse_dt(h["end"]).timestamp()
        for x in h["experts"]:
            earlier = seen[x]
            assert not earlier or earlier[-1][1] <= start  # one committee at a time (E8)
            recent = [s for s, _ in earlier[-R.max_per_30d:] if s >= start - 30 * day]
            assert len(recent) < R.max_per_30d  # E6
            earlier.append((start, end))
        for pair in combinations(sorted(h["experts"]), 2):  # P2
            together = met[pair]
            assert sum(t >= start - R.familiar_pair_days * day for t in together) < R.familiar_pair_count
            together.append(start)
