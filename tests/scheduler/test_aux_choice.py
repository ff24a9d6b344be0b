"""S5/D1: auxiliary sites chosen by the draw are uniform among the choices that admit a legal committee."""

from __future__ import annotations

import hashlib
from collections import Counter

from scheduler.draw import draw_instance
from tests.checker import check

# Five candidate pairs of auxiliary sites admit a committee; {C, D} does not, because the only
# expert within reach of C or D is X, and one person cannot sit at both.
CHI2_DF4_995 = 14.860  # 99.5% quantile of chi-square with 4 degrees of freedom


def _instance() -> dict:
    def site(sid: str, lat: float, lon: float) -> dict:
        return {"id": sid, "region": "370100", "lat": lat, "lon": lon, "rooms": [{"id": f"{sid}-R", "seats": 5}]}

    homes = [("M", 36.0, 117.0)] * 6 + [("A", 36.0, 118.0)] * 2 + [("B", 37.0, 117.0)] * 2 + [("X", 35.5, 116.5)]
    experts = [
        {"id": f"{tag}{i}", "birth_date": "1975-01-01", "region": "420100", "lat": lat, "lon": lon,
         "employer": f"O{i}", "specialties": ["A0801"]}
        for i, (tag, lat, lon) in enumerate(homes)
    ]
    return {
        "format": "draw-instance/1",
        "rules": {"max_travel_km": 80},
        "sites": [site("MAIN", 36.0, 117.0), site("A", 36.0, 118.0), site("B", 37.0, 117.0),
                  site("C", 35.0, 117.0), site("D", 36.0, 116.0)],
        "orgs": [{"id": f"O{i}"} for i in range(len(homes))] + [{"id": "T"}],
        "experts": experts,
        "projects": [{"id": "P", "procedure": "engineering_tender", "budget": 1e6, "region": "370100",
                      "tenderer": "T", "start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T12:00:00+08:00",
                      "size": 5, "representatives": 1, "main_site": "MAIN", "aux_sites": None,
                      "needs": [{"specialty": "A08", "count": 4}]}],
    }


def test_aux_sites_uniform_over_feasible_choices() -> None:
    inst = _instance()
    n = 500
    seen: Counter[tuple[str, ...]] = Counter()
    for i in range(n):
        result = draw_instance(inst, hashlib.sha256(f"aux-{i}".encode()).hexdigest())
        proj = result["projects"][0]
        assert proj["status"] == "drawn"
        if i % 50 == 0:
            assert check(inst, result) == []
        seen[tuple(sorted(proj["aux_sites"]))] += 1
    assert ("C", "D") not in seen
    assert set(seen) == {("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D")}
    expected = n / 5
    chi2 = sum((seen[k] - expected) ** 2 / expected for k in seen)
    assert chi2 < CHI2_DF4_995, (chi2, seen)
