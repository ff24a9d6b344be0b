"""Factory functions creating database rows with sensible defaults for tests, and a rich instance.

Row factories add and flush (never commit) and return the row; every code defaults to a fresh
unique one. `rich_instance()` extends tests/factories_instance.tiny_day()'s instance with one of
every kind of record, in scrambled order and mixed UTC offsets, to exercise import/export.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from evaluation.models import Project, ProjectAuxSite, ProjectNeed
from experts.models import Committee, CommitteeMember, Expert, ExpertSpecialty, Organisation
from tests.factories_instance import expert, history, site, tiny_day
from venues.models import Room, Site

_seq = itertools.count(1)
EVAL_START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 at +08:00


def _code(prefix: str) -> str:
    return f"{prefix}{next(_seq):06d}"


def make_site(session: Session, *, code: str | None = None, **kw: Any) -> Site:
    """A Jinan-area active site."""
    data = {"name": "site", "region": "370100", "lat": 36.651, "lon": 117.120, "active": True, "kind": "centre"}
    row = Site(code=code or _code("S"), **{**data, **kw})
    session.add(row)
    session.flush()
    return row


def make_room(session: Session, *, site: Site, code: str | None = None, seats: int = 9) -> Room:
    """A room of `site`."""
    assert site.id is not None
    row = Room(code=code or f"{site.code}-{_code('R')}", site_id=site.id, seats=seats)
    session.add(row)
    session.flush()
    return row


def make_org(
    session: Session, *, code: str | None = None, name: str = "org", region: str | None = None
) -> Organisation:
    """An organisation."""
    row = Organisation(code=code or _code("ORG"), name=name, region=region)
    session.add(row)
    session.flush()
    return row


def make_expert(
    session: Session,
    *,
    code: str | None = None,
    specialties: Sequence[str] = ("A0801",),
    employer: Organisation | None = None,
    **kw: Any,
) -> Expert:
    """An active expert living near Jinan, with the given specialties."""
    data = {"name": "expert", "birth_date": date(1970, 5, 1), "region": "371302", "lat": 36.45, "lon": 117.37,
            "status": "active"}
    row = Expert(code=code or _code("E"), employer_id=employer.id if employer else None, **{**data, **kw})
    session.add(row)
    session.flush()
    assert row.id is not None
    for spec in specialties:
        session.add(ExpertSpecialty(expert_id=row.id, code=spec))
    session.flush()
    return row


def make_committee(
    session: Session,
    *,
    experts: Sequence[Expert],
    start: datetime,
    hours: int = 3,
    code: str | None = None,
    tenderer: Organisation | None = None,
) -> Committee:
    """A past committee with these members."""
    row = Committee(code=code or _code("H"), tenderer_id=tenderer.id if tenderer else None, start=start,
                    end=start + timedelta(hours=hours))
    session.add(row)
    session.flush()
    assert row.id is not None
    for e in experts:
        assert e.id is not None
        session.add(CommitteeMember(committee_id=row.id, expert_id=e.id))
    session.flush()
    return row


def make_project(
    session: Session,
    *,
    tenderer: Organisation,
    main_site: Site,
    code: str | None = None,
    start: datetime = EVAL_START,
    needs: Sequence[tuple[str, int]] = (("A08", 3), ("A06", 1)),
    aux_sites: Sequence[Site] | None = None,
    representatives: int = 1,
    **kw: Any,
) -> Project:
    """A planned engineering project; `aux_sites` None lets the draw choose them (S5)."""
    assert tenderer.id is not None and main_site.id is not None
    size = sum(n for _, n in needs) + representatives
    data = {"name": "project", "procedure": "engineering_tender", "budget": 35_000_000.0, "region": "370114",
            "end": start + timedelta(hours=3), "size": size}
    row = Project(code=code or _code("P-"), tenderer_id=tenderer.id, main_site_id=main_site.id, start=start,
                  representatives=representatives, aux_mode="random" if aux_sites is None else "fixed",
                  **{**data, **kw})
    session.add(row)
    session.flush()
    assert row.id is not None
    for spec, count in needs:
        session.add(ProjectNeed(project_id=row.id, specialty=spec, count=count))
    for pos, s in enumerate(aux_sites or []):
        assert s.id is not None
        session.add(ProjectAuxSite(project_id=row.id, site_id=s.id, position=pos))
    session.flush()
    return row


def rich_instance() -> dict[str, Any]:
    """tiny_day()'s instance plus every kind of record, unsorted, with mixed UTC offsets."""
    doc, _ = tiny_day()
    doc["rules"] = {"max_travel_km": 120}
    doc["sites"].reverse()
    doc["sites"].append(site("ZFAR", 35.0, 119.0, seats=(4, 8, 2), region="371300"))
    doc["orgs"].reverse()
    doc["experts"].reverse()
    doc["experts"].append(expert("E99", ["B0102", "A0601", "A0601"], employer=None, status="suspended",
                                 leave=[{"from": "2026-12-01", "to": "2026-12-03"},
                                        {"from": "2026-11-20", "to": "2026-11-24"}]))
    doc["relations"] = [
        {"expert": "E05", "org": "BID1", "kind": "former_employment", "from": "2015-01-01", "to": "2024-06-30"},
        {"expert": "E02", "org": "TEND", "kind": "avoid", "from": None, "to": None},
        {"expert": "E02", "org": "BID2", "kind": "shareholder", "from": "2020-02-29"},
    ]
    doc["penalties"] = [{"expert": "E99", "date": "2022-03-01", "reason": "串标"},
                        {"expert": "E07", "date": "2023-05-06"}]
    doc["history"] += [
        history("H-2", "2026-10-10T01:00:00Z", "2026-10-10T04:00:00Z", ["E03", "E01", "E01"], tenderer="TEND"),
        history("H-1", "2026-11-01T09:00:00+08:00", "2026-11-01T12:00:00+08:00", ["E05"]),
        {"project": "H-3", "tenderer": None, "start": "2026-01-05T09:00:00+09:00",
         "end": "2026-01-05T12:00:00+09:00", "experts": []},
    ]
    doc["bookings"] = [
        {"expert": "E04", "start": "2026-11-23T13:30:00+08:00", "end": "2026-11-23T17:00:00+08:00"},
        {"expert": "E04", "start": "2026-11-22T23:00:00Z", "end": "2026-11-23T02:00:00Z"},
    ]
    doc["room_bookings"] = [{"room": "MAIN-R2", "seats": 3, "start": "2026-11-23T09:00:00+08:00",
                             "end": "2026-11-23T12:00:00+08:00"}]
    p1 = doc["projects"][0]
    p1["bidders"] = ["BID2", "BID1", "BID2"]
    p1["aux_sites"] = ["AUXB", "AUXA"]
    p1["needs"].reverse()
    p1["excluded_experts"] = ["E11", "E10"]
    doc["projects"].insert(0, {
        "id": "P0", "name": "随机副场", "procedure": "gp_tender", "budget": 12_500_000.5, "region": "370102",
        "tenderer": "OTHER", "agent": None, "start": "2026-11-23T06:00:00Z", "end": "2026-11-23T09:30:00Z",
        "size": 7, "representatives": 2, "main_site": "AUXC", "aux_sites": None,
        "needs": [{"specialty": "B01", "count": 5}],
    })
    return doc


def large_instance(n_experts: int = 20_000, n_committees: int = 30_000, seed: int = 7) -> dict[str, Any]:
    """A pool-sized instance: `n_experts` experts with 2 specialties each, `n_committees` past committees."""
    import random

    rng = random.Random(seed)
    doc, _ = tiny_day()
    orgs = [f"ORG{i:05d}" for i in range(2000)]
    doc["orgs"] += [{"id": o, "name": f"公司{o}"} for o in orgs]
    codes = [f"X{i:06d}" for i in range(n_experts)]
    doc["experts"] += [
        expert(c, [f"A{rng.randint(1, 9):02d}{rng.randint(1, 20):02d}", f"B{rng.randint(1, 9):02d}01"],
               employer=rng.choice(orgs), home=(36 + rng.random(), 117 + rng.random()))
        for c in codes
    ]
    start = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    for i in range(n_committees):
        t = start - timedelta(minutes=17 * (i + 1))
        doc["history"].append({"project": f"HIST-{i:06d}", "tenderer": rng.choice(orgs),
                               "start": t.isoformat(), "end": (t + timedelta(hours=3)).isoformat(),
                               "experts": rng.sample(codes, 5)})
    return doc
