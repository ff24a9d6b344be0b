"""The bulk parts of an export (experts, history), read as plain Core rows for speed.

A draw exports the whole pool and a year of past committees every time it runs, so these loops
run over ~10^4 experts and committees and ~10^5 committee members. They read through the session's
own connection (same transaction and the same column types, hence the same values as an ORM
`session.execute`, without building ORM result rows), fetch a committee's members as one
aggregated string (one row per committee, not per member), and convert and render each distinct
datetime only once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Dialect, Select, String, TypeDecorator, cast, func, select, type_coerce
from sqlmodel import col

from experts.models import Committee, CommitteeMember, Expert, ExpertSpecialty, Leave
from scheduler.normal_form import Windows, render_dt


def _select(*columns: Any) -> Select[Any]:
    # Untyped on purpose: SQLModel types attributes as their Python values, which select()'s
    # overloads reject.
    return select(*columns)


def dt_renderer(tz: timezone, convert: Callable[[Any], Any] | None = None) -> Callable[[datetime], str]:
    """`render_dt` at a fixed offset, memoised per value (past committees share a few hundred times).

    With `convert`, the values are the driver's and `convert` is what the column type would apply
    to them (see raw_datetime), so that conversion runs once per distinct value too.
    """
    seen: dict[datetime, str] = {}

    def render(value: datetime) -> str:
        # Equal values with fold=0 are equal instants (or equal naive wall times) and so render alike.
        # A value with fold=1 can equal one that is an hour apart (same zone, same wall time), so it
        # is neither looked up nor memoised.
        if value.fold:
            return render_dt(value if convert is None else convert(value), tz)
        text = seen.get(value)
        if text is None:
            text = seen[value] = render_dt(value if convert is None else convert(value), tz)
        return text

    return render


def raw_datetime(column: Any, dialect: Dialect) -> tuple[Any, Callable[[Any], Any]]:
    """The column read as the driver's value, and the conversion its type would apply to that value."""
    typ = column.type
    if not isinstance(typ, TypeDecorator):
        return column, lambda value: value
    # A TypeDecorator's result is process_result_value(the implementation's result): the same two steps.
    return type_coerce(column, typ.impl_instance), lambda value: typ.process_result_value(value, dialect)


def experts(
    conn: Connection, org_code: dict[int, str]
) -> tuple[list[dict[str, Any]], dict[int, str], int]:
    """(exported experts, their codes by id, how many experts there are in all)."""
    specs: dict[int, list[str]] = defaultdict(list)
    for eid, code in conn.execute(_select(ExpertSpecialty.expert_id, ExpertSpecialty.code)).all():
        specs[eid].append(code)
    leave: dict[int, list[dict[str, str]]] = defaultdict(list)
    for eid, d1, d2 in conn.execute(_select(Leave.expert_id, Leave.from_date, Leave.to_date)).all():
        leave[eid].append({"from": d1.isoformat(), "to": d2.isoformat()})
    expert_code: dict[int, str] = {}
    out = []
    total = 0
    for eid, code, name, birth, region, lat, lon, employer_id, status in conn.execute(
        _select(Expert.id, Expert.code, Expert.name, Expert.birth_date, Expert.region, Expert.lat, Expert.lon,
                Expert.employer_id, Expert.status)
    ).all():
        total += 1
        spec = specs.get(eid)
        if not spec:
            continue
        expert_code[eid] = code
        out.append({
            "id": code, "name": name, "birth_date": birth.isoformat(), "region": region, "lat": lat, "lon": lon,
            "employer": org_code.get(employer_id) if employer_id else None, "specialties": spec, "status": status,
            "leave": leave.get(eid, []),
        })
    return out, expert_code, total


def history(
    conn: Connection, win: Windows, tz: timezone, org_code: dict[int, str], expert_code: dict[int, str]
) -> list[dict[str, Any]]:
    """The past committees starting in the history window, with their (exported) members."""
    start, convert = raw_datetime(col(Committee.start), conn.dialect)
    end, _ = raw_datetime(col(Committee.end), conn.dialect)
    render = dt_renderer(tz, convert)
    # Members aggregated per committee: one row per committee instead of one per member.
    members = func.aggregate_strings(cast(CommitteeMember.expert_id, String), ",")
    stmt = (_select(Committee.code, Committee.tenderer_id, start, end, members)
            .outerjoin(CommitteeMember, col(Committee.id) == CommitteeMember.committee_id)
            .group_by(col(Committee.id)))
    if not win.empty:
        stmt = stmt.where(col(Committee.start) >= win.hist_lo, col(Committee.start) < win.hist_hi)
    code_of = expert_code.get
    return [
        {"project": code, "tenderer": org_code[tid] if tid else None, "start": render(t0), "end": render(t1),
         # Members without a specialty are not exported, so not named here either.
         "experts": [c for c in map(code_of, map(int, ids.split(","))) if c is not None] if ids else []}
        for code, tid, t0, t1, ids in conn.execute(stmt).all()
    ]
