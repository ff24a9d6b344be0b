"""Replacement (R1/R2) on tiny instances: alternates first, then a fresh draw; other seats stay."""

from __future__ import annotations

import pytest

from scheduler.draw import draw_instance
from scheduler.exceptions import ReplacementError
from scheduler.replace import replace_seat
from tests.checker import check
from tests.factories_instance import tiny_day


def _legal_except_alternates(inst: dict, result: dict) -> list:
    return [v for v in check(inst, result) if v.rule != "D2"]


def test_alternates_in_order_then_fresh_draw_and_never_the_same_expert_again() -> None:
    inst, _ = tiny_day()
    result = draw_instance(inst, "abcd")
    proj = result["projects"][0]
    need = "A08"
    alternates = next(a["experts"] for a in proj["alternates"] if a["need"] == need)
    gone: list[str] = []
    sources = []
    for _ in range(len(alternates) + 1):
        current = next(q for q in result["projects"] if q["project"] == "P1")
        leaving = next(s for s in current["seats"] if s["need"] == need)
        before = {(s["expert"], s["site"], s["room"]) for s in current["seats"] if s is not leaving}
        result, record = replace_seat(inst, result, project="P1", expert=leaving["expert"], reason="declined")
        gone.append(leaving["expert"])
        sources.append(record["source"])
        after = next(q for q in result["projects"] if q["project"] == "P1")
        assert before <= {(s["expert"], s["site"], s["room"]) for s in after["seats"]}
        assert not set(gone) & {s["expert"] for s in after["seats"]}
        # E9 holds: the instance with the exclusions recorded still accepts the new committee.
        excluded = {**inst["projects"][0], "excluded_experts": gone}
        assert _legal_except_alternates({**inst, "projects": [excluded]}, result) == []
    usable = [a for a in alternates if a not in gone[:1]]
    assert sources[: len(usable)] == ["alternate"] * len(usable)
    assert sources[-1] == "fresh"
    assert len(result["projects"][0]["replacements"]) == len(gone)


def test_no_legal_replacement_is_a_clear_error() -> None:
    inst, _ = tiny_day()
    result = draw_instance(inst, "abcd")
    leaving = next(s for s in result["projects"][0]["seats"] if s["need"] == "A06")
    # Only the seated A06 holder remains: every other holder of A06 is suspended.
    seated = {s["expert"] for s in result["projects"][0]["seats"]}
    for e in inst["experts"]:
        if any(c.startswith("A06") for c in e["specialties"]) and e["id"] not in seated:
            e["status"] = "suspended"
    with pytest.raises(ReplacementError, match="no expert can legally replace"):
        replace_seat(inst, result, project="P1", expert=leaving["expert"], reason="failed_check_in")


def test_unknown_expert_or_reason_is_rejected() -> None:
    inst, _ = tiny_day()
    result = draw_instance(inst, "abcd")
    with pytest.raises(ReplacementError, match="holds no seat"):
        replace_seat(inst, result, project="P1", expert="E15", reason="declined")
    with pytest.raises(ReplacementError, match="reason"):
        replace_seat(inst, result, project="P1", expert="E15", reason="bored")
