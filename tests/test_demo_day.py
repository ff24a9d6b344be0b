"""The demo province's day: projects that follow the committee rules and can all be drawn."""

from __future__ import annotations

import math
from collections import Counter

from api.demo_data import DAY
from tests.checker import check
from tests.demo_support import Doc, GreedyDay, R


def test_projects_follow_the_committee_rules(province: Doc) -> None:
    projects = province["projects"]
    sites = {s["id"]: s for s in province["sites"]}
    for p in projects:
        size, reps = p["size"], p["representatives"]
        assert size % 2 == 1 and size >= R.min_size[p["procedure"]]
        if p["procedure"] == "gp_tender" and p["budget"] >= R.gp_large_budget:
            assert size >= R.gp_large_min_size
        if p["procedure"] == "gp_negotiation":
            assert size in (3, 5) and (size == 5 or p["budget"] < R.gp_public_tender_threshold)
        assert 0 <= reps <= 2 and size - reps >= math.ceil(R.expert_share * size)
        assert sum(n["count"] for n in p["needs"]) == size - reps and 1 <= len(p["needs"]) <= 3
        assert 3 <= len(p["bidders"]) <= 8 and len(set(p["bidders"])) == len(p["bidders"])
        assert p["tenderer"] not in p["bidders"] and p["supervisor_orgs"]
        assert sites[p["main_site"]]["active"] and sites[p["main_site"]]["region"].startswith("37")
        if p["aux_sites"]:
            assert len(p["aux_sites"]) <= 2 and p["main_site"] not in p["aux_sites"]
            assert all(sites[s]["active"] for s in p["aux_sites"])
        assert p["start"][:10] == DAY.isoformat() and p["end"] > p["start"]
    mix = Counter(p["procedure"] for p in projects)
    assert all(mix[k] >= 10 for k in ("engineering_tender", "gp_tender", "gp_negotiation"))
    aux = Counter("open" if p["aux_sites"] is None else len(p["aux_sites"]) for p in projects)
    assert 0.5 <= aux["open"] / 150 <= 0.7 and 0.04 <= aux[0] / 150 <= 0.15 and aux[1] + aux[2] >= 25
    mains = Counter(p["main_site"] for p in projects)
    assert mains.most_common(1)[0][0] == "JN" and len(mains) >= 12
    assert 40 <= sum(p["start"][11:13] < "12" for p in projects) <= 110  # both sessions are busy
    assert any(p["excluded_experts"] for p in projects)


def test_the_day_is_feasible_for_a_plain_greedy_draw(province: Doc) -> None:
    result = GreedyDay(province, seed=5).run()
    drawn = sum(rp["status"] == "drawn" for rp in result["projects"])
    assert drawn >= 0.97 * len(province["projects"])
    # The greedy committees are legal by the independent checker (alternates are not its business).
    assert [v for v in check(province, result) if v.rule != "D2"] == []


def test_the_small_day_is_feasible(little: Doc) -> None:
    result = GreedyDay(little, seed=1).run()
    assert sum(rp["status"] == "drawn" for rp in result["projects"]) >= 11
    assert [v for v in check(little, result) if v.rule != "D2"] == []
