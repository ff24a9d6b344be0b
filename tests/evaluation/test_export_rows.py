"""The fast export reads equal a plain row-by-row rendering; export and parse leave the GC as found; error paths."""

from __future__ import annotations

import gc
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import Session
from sqlmodel import select as sm_select

from evaluation import service
from evaluation.commitments import drawn_commitments
from evaluation.export import UnknownProjectError, export_instance, import_instance
from evaluation.models import (
    Project,
    ProjectAuxSite,
    ProjectBidder,
    ProjectExclusion,
    ProjectNeed,
    ProjectSupervisorOrg,
)
from experts.models import (
    Booking,
    Committee,
    CommitteeMember,
    Expert,
    ExpertSpecialty,
    Leave,
    Organisation,
    Penalty,
    Relation,
)
from scheduler import normal_form
from scheduler.exceptions import InstanceError
from scheduler.instance import canonical_bytes, parse_instance
from tests.factories import (
    EVAL_START,
    make_committee,
    make_expert,
    make_org,
    make_project,
    make_room,
    make_site,
    rich_instance,
)
from tests.factories_instance import second_project, tiny_day
from venues.closures import unavailable_windows
from venues.models import Closure, Room, RoomBooking, Site


def _straightforward(session: Session, codes: list[str] | None, rules: dict[str, Any] | None = None,
                     with_drawn: bool = False) -> dict[str, Any]:
    """The export rebuilt plainly from ORM objects, filtered in Python: what the fast reads must equal."""
    tz = normal_form.display_tz()

    def r(v: datetime) -> str:
        return normal_form.render_dt(v, tz)

    def rows(model: Any) -> list[Any]:
        return list(session.exec(sm_select(model)).all())

    def children(model: Any) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = defaultdict(list)
        for x in rows(model):
            out[x.project_id].append(x)
        return out

    projects = [p for p in rows(Project) if codes is None or p.code in codes]
    win = normal_form.Windows([(p.start, p.end) for p in projects], normal_form.history_days(rules))
    org = {o.id: o.code for o in rows(Organisation)}
    site = {s.id: s.code for s in rows(Site)}
    specs, leave, members = defaultdict(list), defaultdict(list), defaultdict(list)
    for sp in rows(ExpertSpecialty):
        specs[sp.expert_id].append(sp.code)
    for lv in rows(Leave):
        leave[lv.expert_id].append({"from": lv.from_date.isoformat(), "to": lv.to_date.isoformat()})
    code = {e.id: e.code for e in rows(Expert) if specs[e.id]}
    for m in rows(CommitteeMember):
        if m.expert_id in code:
            members[m.committee_id].append(code[m.expert_id])
    history = [{"project": c.code, "tenderer": org.get(c.tenderer_id), "start": r(c.start), "end": r(c.end),
                "experts": members[c.id]} for c in rows(Committee) if win.history(c.start)]
    room_code = {rm.id: rm.code for rm in rows(Room)}
    room_bookings = [{"room": room_code[b.room_id], "seats": b.seats, "start": r(b.start), "end": r(b.end)}
                     for b in rows(RoomBooking) if win.busy(b.start, b.end)]
    room_bookings += [{"room": rm.code, "seats": rm.seats, "start": r(s), "end": r(e)} for rm, (s, e) in
                      unavailable_windows(session, spans=[(p.start, p.end) for p in projects], tz=tz) if rm.seats]
    if with_drawn and not win.empty:
        more, rooms = drawn_commitments(session, exclude={p.id for p in projects if p.id is not None},
                                        lo=win.hist_lo, hi=win.busy_hi, tz=tz, org_code=org,
                                        expert_codes=set(code.values()), skip_codes={h["project"] for h in history})
        history, room_bookings = history + more, room_bookings + rooms
    bid, sup, aux, need, excl = (children(m) for m in (ProjectBidder, ProjectSupervisorOrg, ProjectAuxSite,
                                                         ProjectNeed, ProjectExclusion))
    doc = {
        "format": "draw-instance/1", "rules": dict(rules or {}),
        "sites": [{"id": s.code, "name": s.name, "region": s.region, "lat": s.lat, "lon": s.lon, "active": s.active,
                   "rooms": [{"id": rm.code, "seats": rm.seats} for rm in rows(Room) if rm.site_id == s.id]}
                  for s in rows(Site)],
        "orgs": [{"id": o.code, "name": o.name} for o in rows(Organisation)],
        "experts": [{"id": e.code, "name": e.name, "birth_date": e.birth_date.isoformat(), "region": e.region,
                     "lat": e.lat, "lon": e.lon, "employer": org.get(e.employer_id), "specialties": specs[e.id],
                     "status": e.status, "leave": leave[e.id]} for e in rows(Expert) if e.id in code],
        "relations": [{"expert": code[x.expert_id], "org": org[x.org_id], "kind": x.kind,
                       "from": x.from_date and x.from_date.isoformat(), "to": x.to_date and x.to_date.isoformat()}
                      for x in rows(Relation) if x.expert_id in code],
        "penalties": [{"expert": code[x.expert_id], "date": x.date.isoformat(), "reason": x.reason}
                      for x in rows(Penalty) if x.expert_id in code],
        "history": history,
        "bookings": [{"expert": code[b.expert_id], "start": r(b.start), "end": r(b.end)} for b in rows(Booking)
                     if b.expert_id in code and win.busy(b.start, b.end)],
        "room_bookings": room_bookings,
        "projects": [{
            "id": p.code, "name": p.name, "procedure": p.procedure, "budget": float(p.budget), "region": p.region,
            "tenderer": org[p.tenderer_id], "agent": org.get(p.agent_id),
            "bidders": [org[x.org_id] for x in bid[p.id]], "supervisor_orgs": [org[x.org_id] for x in sup[p.id]],
            "start": r(p.start), "end": r(p.end), "size": p.size, "representatives": p.representatives,
            "main_site": site[p.main_site_id],
            "aux_sites": None if p.aux_mode == "random" else
            [site[x.site_id] for x in sorted(aux[p.id], key=lambda x: x.position)],
            "needs": [{"specialty": n.specialty, "count": n.count} for n in need[p.id]],
            "excluded_experts": [code[x.expert_id] for x in excl[p.id] if x.expert_id in code],
        } for p in projects],
    }
    return normal_form.canonical_order(doc)


def _id(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


def test_export_equals_a_plain_rendering_of_the_rows(session: Session) -> None:
    # Every kind of row the export reads, including what it must leave out or cut, on both databases.
    jn, zq = make_site(session, code="JN"), make_site(session, code="ZQ", lat=36.714, lon=117.526)
    make_room(session, site=jn, code="JN-R1", seats=9)
    session.add(Room(code="ZQ-R1", site_id=_id(zq), seats=6, opens_at=time(10, 0), closes_at=time(17, 0)))
    tend, bid = make_org(session, code="TEND"), make_org(session, code="BID")
    e1 = make_expert(session, code="E1", specialties=("A0801", "A0601"), employer=bid)
    e2 = make_expert(session, code="E2", specialties=("A0802",))
    ghost = make_expert(session, code="NOSPEC", specialties=())
    i1, i2, i0, bid_id = _id(e1), _id(e2), _id(ghost), _id(bid)
    session.add(Leave(expert_id=i1, from_date=date(2026, 12, 1), to_date=date(2026, 12, 3)))
    session.add_all([Relation(expert_id=i, org_id=bid_id, kind="director", from_date=date(2020, 1, 1))
                     for i in (i1, i0)])
    session.add(Relation(expert_id=i2, org_id=_id(tend), kind="avoid"))
    session.add_all([Penalty(expert_id=i, date=date(2024, 5, 6), reason="late") for i in (i1, i0)])
    # H1 and H2 share their times (rendered once); H2's only member has no specialty.
    before = EVAL_START - timedelta(days=10)
    make_committee(session, code="H1", experts=[e1, e2, ghost], start=before, tenderer=tend)
    make_committee(session, code="H2", experts=[ghost], start=before)
    make_committee(session, code="H3", experts=[], start=EVAL_START - timedelta(days=399))
    make_committee(session, code="H-OLD", experts=[e1], start=EVAL_START - timedelta(days=401))
    make_committee(session, code="H-LATER", experts=[e1], start=EVAL_START + timedelta(hours=1))
    p1 = _id(make_project(session, code="P-1", tenderer=tend, main_site=jn, agent_id=bid_id))
    make_project(session, code="P-2", tenderer=tend, main_site=jn, aux_sites=[zq], needs=[("A06", 2)],
                 start=EVAL_START + timedelta(hours=2))
    make_project(session, code="P-3", tenderer=tend, main_site=zq, start=EVAL_START + timedelta(days=3))
    session.add_all([ProjectExclusion(project_id=p1, expert_id=i, reason="declined") for i in (i2, i0)])
    session.add_all([ProjectBidder(project_id=p1, org_id=bid_id), ProjectSupervisorOrg(project_id=p1, org_id=bid_id)])
    for i, hrs in ((i1, 1), (i0, 1), (i2, 100)):
        session.add(Booking(expert_id=i, start=EVAL_START + timedelta(hours=hrs),
                            end=EVAL_START + timedelta(hours=hrs + 2)))
    room = _id(session.exec(sm_select(Room).where(Room.code == "JN-R1")).one())
    session.add(RoomBooking(room_id=room, seats=2, start=EVAL_START, end=EVAL_START + timedelta(hours=1)))
    session.add(Closure(site_id=_id(jn), room_id=room, start=EVAL_START + timedelta(hours=1),
                        end=EVAL_START + timedelta(hours=2), reason="repairs"))
    session.commit()
    cases: list[tuple[list[str] | None, dict[str, Any] | None]] = [
        (None, None), ([], None), (["P-1"], None), (["P-1", "P-2"], {"familiar_pair_days": 420}), (["P-3"], None)]
    for codes, rules in cases:
        out = export_instance(session, project_codes=codes, rules=rules, with_drawn=True)
        assert canonical_bytes(out) == canonical_bytes(_straightforward(session, codes, rules)), codes
        parse_instance(out)
    # The reference is not vacuous: the cuts and omissions it shares with the export did happen.
    one = export_instance(session, project_codes=["P-1"])
    assert "NOSPEC" not in canonical_bytes(one).decode()
    assert {h["project"]: h["experts"] for h in one["history"]} == {"H1": ["E1", "E2"], "H2": [], "H3": []}
    assert [(b["room"], b["start"]) for b in one["room_bookings"]] == [
        ("JN-R1", "2026-11-23T09:00:00+08:00"), ("JN-R1", "2026-11-23T10:00:00+08:00"),
        ("ZQ-R1", "2026-11-23T09:00:00+08:00")]
    assert [b["expert"] for b in one["bookings"]] == ["E1"]


def test_export_with_drawn_committees_equals_the_plain_rendering(session: Session) -> None:
    inst, _ = tiny_day()
    second_project(inst)
    import_instance(session, inst)
    session.commit()
    service.draw(session, project_codes=["P1"], seed_hex="01")
    rules = service.deployment_rules().as_json()
    out = export_instance(session, project_codes=["P2"], rules=rules, with_drawn=True)
    assert "P1" in {h["project"] for h in out["history"]}
    assert canonical_bytes(out) == canonical_bytes(_straightforward(session, ["P2"], rules, with_drawn=True))


@pytest.mark.parametrize("enabled", [True, False])
def test_export_and_parse_leave_the_garbage_collector_as_they_found_it(session: Session, enabled: bool) -> None:
    make_expert(session, code="E1")
    session.commit()
    (gc.enable if enabled else gc.disable)()
    try:
        parse_instance(export_instance(session))
        with pytest.raises(UnknownProjectError):
            export_instance(session, project_codes=["NOPE"])
        with pytest.raises(InstanceError):
            parse_instance({"format": "draw-instance/1"})
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["history"][1].update(end=d["history"][1]["start"]), "$.history[1].end"),
    (lambda d: d["history"][2].update(tenderer="NOPE"), "$.history[2].tenderer"),
    (lambda d: d["history"][0]["experts"].append("NOBODY"), "$.history[0].experts[2]"),
    # The first bad item is named, whichever check it fails.
    (lambda d: (d["history"][3]["experts"].append("NOBODY"), d["history"][1].update(tenderer="NOPE")),
     "$.history[1].tenderer"),
])
def test_history_errors_name_the_first_bad_item(change: Any, path: str) -> None:
    doc = rich_instance()
    change(doc)
    with pytest.raises(InstanceError) as info:
        parse_instance(doc)
    assert info.value.path == path
