"""Mutations of the tiny day (tests/factories_instance.py) and small documents for the checker's tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tests.checker import Violation
from tests.factories_instance import by_id, history

Doc = dict[str, Any]
Mutation = Callable[[Doc, Doc], None]


def proj_of(inst: Doc) -> Doc:
    """The instance's first project (P1 of the tiny day)."""
    return inst["projects"][0]


def _res(res: Doc) -> Doc:
    return res["projects"][0]


def expert_of(inst: Doc, eid: str) -> Doc:
    """The instance's expert `eid`."""
    return by_id(inst["experts"], eid)


def _seat(res: Doc, eid: str) -> Doc:
    return by_id(_res(res)["seats"], eid)


def _set(getter: Callable[[Doc, Doc], Doc], **values: Any) -> Mutation:
    def mutate(inst: Doc, res: Doc) -> None:
        getter(inst, res).update(values)
    return mutate


def expert_set(eid: str, **values: Any) -> Mutation:
    return _set(lambda i, r: expert_of(i, eid), **values)


def project_set(**values: Any) -> Mutation:
    return _set(lambda i, r: proj_of(i), **values)


def seat_set(eid: str, **values: Any) -> Mutation:
    return _set(lambda i, r: _seat(r, eid), **values)


def result_set(**values: Any) -> Mutation:
    return _set(lambda i, r: _res(r), **values)


def rules(**values: Any) -> Mutation:
    return _set(lambda i, r: i["rules"], **values)


def append(key: str, *items: Doc) -> Mutation:
    def mutate(inst: Doc, res: Doc) -> None:
        inst[key].extend(items)
    return mutate


def alternates(**lists: list[str]) -> Mutation:
    def mutate(inst: Doc, res: Doc) -> None:
        _res(res)["alternates"] = [{"need": k, "experts": v} for k, v in lists.items()]
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(inst: Doc, res: Doc) -> None:
        for m in mutations:
            m(inst, res)
    return mutate


P1_START = datetime.fromisoformat("2026-11-23T09:00:00+08:00")


def day_at(offset_days: float, hour: int = 9, minutes: int = 0) -> str:
    """An instant `offset_days` before P1's start (2026-11-23 09:00 +08:00), shifted to hour:minutes."""
    base = datetime.fromisoformat("2026-11-23T00:00:00+08:00") - timedelta(days=offset_days)
    return (base + timedelta(hours=hour, minutes=minutes)).isoformat()


def past(eids: list[str], offset_days: float, tenderer: str = "OTHER", minutes: int = 0) -> Doc:
    """A 3-hour past committee starting `offset_days` before P1's start (plus `minutes`)."""
    start = P1_START - timedelta(days=offset_days) + timedelta(minutes=minutes)
    return history(f"H-{offset_days}-{minutes}", start.isoformat(), (start + timedelta(hours=3)).isoformat(),
                   eids, tenderer)


def booking(eid: str, start: str, end: str) -> Doc:
    return {"expert": eid, "start": f"2026-11-23T{start}:00+08:00", "end": f"2026-11-23T{end}:00+08:00"}


def room_booking(room: str, seats: int, start: str, end: str) -> Doc:
    return {"room": room, "seats": seats, "start": f"2026-11-23T{start}:00+08:00",
            "end": f"2026-11-23T{end}:00+08:00"}


def relation(eid: str, org: str, to: str | None, kind: str = "former_employment") -> Doc:
    return {"expert": eid, "org": org, "kind": kind, "from": "2010-01-01", "to": to}


def rule_ids(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}
