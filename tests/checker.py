"""Independent checker of draw results (draw-result/1) against draw-rules.md: the test suite's oracle.

Written from the spec text alone and sharing no code with scheduler/solver, draw.py or encoder.py, so
that a misreading of a rule in the solver cannot hide behind the same misreading here. The pure helpers
live in tests/checker_util.py, the day-wide indexes in tests/checker_day.py and the per-project rules in
tests/checker_rules.py and tests/checker_project.py; this module re-exports the public ones.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.checker_day import Day, seats_of
from tests.checker_project import ProjectCheck
from tests.checker_rules import ProjectRules
from tests.checker_util import (
    EARTH_RADIUS_KM,
    RESULT_FORMAT,
    Interval,
    Violation,
    add_years,
    age_on,
    effective_params,
    haversine_km,
    peak_load,
    seating_exists,
)

__all__ = [
    "EARTH_RADIUS_KM",
    "RESULT_FORMAT",
    "Day",
    "Interval",
    "ProjectCheck",
    "ProjectRules",
    "Violation",
    "add_years",
    "age_on",
    "check",
    "effective_params",
    "haversine_km",
    "peak_load",
    "seating_exists",
    "seats_of",
]


def check(instance: dict[str, Any], result: dict[str, Any], *, defaults: dict[str, Any] | None = None
          ) -> list[Violation]:
    """Every rule violation of a draw-result/1 against its draw-instance/1 (empty list = legal)."""
    day = Day(instance, result, effective_params(instance, defaults))
    out: list[Violation] = []
    if result.get("format") != RESULT_FORMAT:
        out.append(Violation("FORMAT", None, f"format is {result.get('format')!r}, not {RESULT_FORMAT!r}"))
    listed = Counter(rp.get("project") for rp in result.get("projects") or [] if isinstance(rp, dict))
    for pid in day.projects:
        if listed[pid] != 1:
            out.append(Violation("FORMAT", pid, f"project appears {listed[pid]} times in the result"))
    for pid in listed:
        if pid not in day.projects:
            out.append(Violation("FORMAT", pid, "the result names a project the instance does not have"))
    for pid, rp in day.results.items():
        out += ProjectCheck(day, pid, rp).run()
    out += _room_capacity(day)
    return out


def _room_capacity(day: Day) -> list[Violation]:
    out = []
    for room in sorted(day.room_use):
        if room not in day.room_seats:
            continue
        peak, moment = peak_load((s, e, n) for s, e, n, _ in day.room_use[room])
        if peak > day.room_seats[room]:
            owners = sorted({o for _, _, _, o in day.room_use[room] if o})
            out.append(Violation(
                "S4", owners[0] if len(owners) == 1 else None,
                f"room {room} holds {peak} people at {moment.isoformat() if moment else '?'} but has "
                f"{day.room_seats[room]} seats (projects {', '.join(owners) or 'none'})",
            ))
    return out
