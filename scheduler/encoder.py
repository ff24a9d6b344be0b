"""Map an instance (ids, dates, JSON) to the solver's integer-indexed Problem, and back."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np

from config.rules import RuleParams
from scheduler.instance import Instance
from scheduler.solver.problem import (
    NO_ORG,
    Experts,
    History,
    Intervals,
    Need,
    Problem,
    ProjectSpec,
    Rooms,
    Sites,
    sorted_unique,
)
from venues.geo import haversine_km

OPEN_ENDED = 10**8  # an ordinal far beyond any real date: the relation always counts


@dataclass(frozen=True)
class IdMaps:
    """Index ↔ id lookups for turning solver output back into instance ids."""

    sites: tuple[str, ...]
    rooms: tuple[str, ...]
    experts: tuple[str, ...]
    orgs: tuple[str, ...]
    projects: tuple[str, ...]


def add_years(d: date, years: int) -> date:
    """`d` plus calendar years, 29 February mapping to 28 February (draw-rules E4)."""
    if d.year + years > date.max.year:
        return date.max  # e.g. a "9999-12-31" open-end sentinel: the relation always counts
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _region4(code: str) -> int:
    return int(code[:4])


def _specialty_index(inst: Instance) -> dict[str, list[int]]:
    # C3: a need's pool is every expert with a specialty starting with the need's code. Only the
    # codes the projects ask for are indexed, by checking each level-boundary prefix against them.
    wanted = {nd.specialty for p in inst.projects for nd in p.needs}
    lengths = sorted({len(c) for c in wanted})
    index: dict[str, set[int]] = defaultdict(set)
    for i, e in enumerate(inst.experts):
        for code in e.specialties:
            for cut in lengths:
                if cut <= len(code) and code[:cut] in wanted:
                    index[code[:cut]].add(i)
    return {k: sorted(v) for k, v in index.items()}


def _history(inst: Instance, eidx: dict[str, int], oidx: dict[str, int], n: int) -> tuple[History, Intervals]:
    hist = inst.history
    h_start = np.array([int(h.start.timestamp()) for h in hist], np.int64)
    h_end = np.array([int(h.end.timestamp()) for h in hist], np.int64)
    h_ten = np.array([oidx[h.tenderer] if h.tenderer else NO_ORG for h in hist], np.int64)
    lens = np.array([len(h.experts) for h in hist], np.int64)
    flat = np.array([eidx[x] for h in hist for x in h.experts], np.int64)
    # One row per (committee, expert), de-duplicated, ordered by committee then expert.
    rows = sorted_unique(np.repeat(np.arange(len(hist), dtype=np.int64), lens) * n + flat)
    ent, exp = rows // n, rows % n
    sizes = np.bincount(ent, minlength=len(hist))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    keys, pstarts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for size in sorted_unique(sizes[sizes >= 2]).tolist():
        which = np.flatnonzero(sizes == size)
        mat = exp[offsets[which][:, None] + np.arange(size)]
        iu, ju = np.triu_indices(size, 1)
        keys.append((mat[:, iu] * n + mat[:, ju]).ravel())
        pstarts.append(np.repeat(h_start[which], len(iu)))
    key = np.concatenate(keys)
    pstart = np.concatenate(pstarts)
    order = np.argsort(pstart, kind="stable")
    m_start = h_start[ent]
    morder = np.argsort(m_start, kind="stable")
    history = History(
        member_expert=exp[morder],
        member_start=m_start[morder],
        member_tenderer=h_ten[ent][morder],
        pair_key=key[order],
        pair_start=pstart[order],
    )
    return history, Intervals(expert=exp, start=m_start, end=h_end[ent])


def encode(inst: Instance, rules: RuleParams) -> tuple[Problem, IdMaps]:
    """Build the Problem for a validated instance under resolved rule parameters."""
    site_ids = tuple(s.id for s in inst.sites)
    sidx = {s: i for i, s in enumerate(site_ids)}
    room_ids: list[str] = []
    room_site: list[int] = []
    room_seats: list[int] = []
    site_rooms: list[tuple[int, ...]] = []
    for si, s in enumerate(inst.sites):
        mine = []
        for r in s.rooms:
            mine.append(len(room_ids))
            room_ids.append(r.id)
            room_site.append(si)
            room_seats.append(r.seats)
        site_rooms.append(tuple(mine))
    ridx = {r: i for i, r in enumerate(room_ids)}
    org_ids = tuple(o.id for o in inst.orgs)
    oidx = {o: i for i, o in enumerate(org_ids)}
    expert_ids = tuple(e.id for e in inst.experts)
    eidx = {e: i for i, e in enumerate(expert_ids)}
    n = len(expert_ids)

    sites = Sites(
        region4=np.array([_region4(s.region) for s in inst.sites], np.int64),
        lat=np.array([s.lat for s in inst.sites], np.float64),
        lon=np.array([s.lon for s in inst.sites], np.float64),
        active=np.array([s.active for s in inst.sites], bool),
        rooms=tuple(site_rooms),
    )
    e_lat = np.array([e.lat for e in inst.experts], np.float64)
    e_lon = np.array([e.lon for e in inst.experts], np.float64)
    penalized = np.zeros(n, bool)
    for pen in inst.penalties:
        penalized[eidx[pen.expert]] = True
    experts = Experts(
        birth_y=np.array([e.birth_date.year for e in inst.experts], np.int64),
        birth_m=np.array([e.birth_date.month for e in inst.experts], np.int64),
        birth_d=np.array([e.birth_date.day for e in inst.experts], np.int64),
        region4=np.array([_region4(e.region) for e in inst.experts], np.int64),
        employer=np.array([oidx[e.employer] if e.employer else NO_ORG for e in inst.experts], np.int64),
        active=np.array([e.status == "active" for e in inst.experts], bool),
        penalized=penalized,
        dist_km=haversine_km(e_lat[:, None], e_lon[:, None], sites.lat[None, :], sites.lon[None, :]),
    )
    leave = [(eidx[e.id], lv.from_.toordinal(), lv.to.toordinal()) for e in inst.experts for lv in e.leave]
    rels = [
        (
            eidx[r.expert],
            oidx[r.org],
            add_years(r.to, rules.relation_lookback_years).toordinal() if r.to else OPEN_ENDED,
        )
        for r in inst.relations
    ]
    history, sat = _history(inst, eidx, oidx, n)
    booked = Intervals(
        expert=np.array([eidx[b.expert] for b in inst.bookings], np.int64),
        start=np.array([int(b.start.timestamp()) for b in inst.bookings], np.int64),
        end=np.array([int(b.end.timestamp()) for b in inst.bookings], np.int64),
    )
    spec_index = _specialty_index(inst)
    empty = np.zeros(0, np.int64)
    projects = []
    for pi, p in enumerate(inst.projects):
        needs = tuple(
            Need(code=nd.specialty, count=nd.count, matches=np.array(spec_index.get(nd.specialty, []), np.int64))
            for nd in p.needs
        )
        d0 = p.start.date()
        projects.append(
            ProjectSpec(
                index=pi,
                procedure=p.procedure,
                budget=float(p.budget),
                region4=_region4(p.region),
                tenderer=oidx[p.tenderer],
                agent=oidx[p.agent] if p.agent else NO_ORG,
                bidders=tuple(oidx[b] for b in p.bidders),
                supervisors=tuple(oidx[o] for o in p.supervisor_orgs),
                start=int(p.start.timestamp()),
                end=int(p.end.timestamp()),
                eval_date=d0.toordinal(),
                end_date=p.end.date().toordinal(),
                eval_ymd=(d0.year, d0.month, d0.day),
                size=p.size,
                reps=p.representatives,
                main_site=sidx[p.main_site],
                aux_sites=None if p.aux_sites is None else tuple(sidx[s] for s in p.aux_sites),
                needs=needs,
                excluded=tuple(sorted({eidx[x] for x in p.excluded_experts})),
            )
        )
    problem = Problem(
        rules=rules,
        sites=sites,
        rooms=Rooms(site=np.array(room_site, np.int64), seats=np.array(room_seats, np.int64)),
        experts=experts,
        leave_expert=np.array([x[0] for x in leave], np.int64) if leave else empty,
        leave_from=np.array([x[1] for x in leave], np.int64) if leave else empty,
        leave_to=np.array([x[2] for x in leave], np.int64) if leave else empty,
        rel_expert=np.array([x[0] for x in rels], np.int64) if rels else empty,
        rel_org=np.array([x[1] for x in rels], np.int64) if rels else empty,
        rel_until=np.array([x[2] for x in rels], np.int64) if rels else empty,
        # E8: other engagements and past committees both occupy the expert.
        engagements=Intervals(
            expert=np.concatenate([booked.expert, sat.expert]),
            start=np.concatenate([booked.start, sat.start]),
            end=np.concatenate([booked.end, sat.end]),
        ),
        history=history,
        room_booking_room=np.array([ridx[b.room] for b in inst.room_bookings], np.int64),
        room_booking_seats=np.array([b.seats for b in inst.room_bookings], np.int64),
        room_booking_start=np.array([int(b.start.timestamp()) for b in inst.room_bookings], np.int64),
        room_booking_end=np.array([int(b.end.timestamp()) for b in inst.room_bookings], np.int64),
        projects=tuple(projects),
    )
    ids = IdMaps(sites=site_ids, rooms=tuple(room_ids), experts=expert_ids, orgs=org_ids,
                 projects=tuple(p.id for p in inst.projects))
    return problem, ids
