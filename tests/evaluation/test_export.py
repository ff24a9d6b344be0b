"""Database ↔ draw-instance/1 on SQLite and PostgreSQL: round trip, idempotence, determinism, windows."""

from __future__ import annotations

import copy
import random
import types
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel
from sqlmodel import select as sm_select

from evaluation import export as export_mod
from evaluation.export import UnknownProjectError, export_instance, import_instance, normalise_instance
from evaluation.models import ProjectExclusion
from experts.models import (
    Expert,
    ExpertSpecialty,
    Penalty,
    Relation,
)
from scheduler import normal_form
from scheduler.exceptions import InstanceError
from scheduler.instance import canonical_bytes, parse_instance
from tests.factories import (
    EVAL_START,
    large_instance,
    make_committee,
    make_expert,
    make_org,
    make_project,
    make_room,
    make_site,
    rich_instance,
)


def _import(engine: Engine, doc: dict[str, Any]) -> export_mod.ImportReport:
    with Session(engine) as s:
        report = import_instance(s, doc)
        s.commit()
    return report


def _export(engine: Engine, **kw: Any) -> dict[str, Any]:
    with Session(engine) as s:
        return export_instance(s, **kw)


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def _by(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return next(i for i in items if i[key] == value)


def test_round_trip_equals_the_normalised_input(engine: Engine) -> None:
    doc = rich_instance()
    _import(engine, doc)
    out = _export(engine, rules=doc["rules"])
    assert canonical_bytes(out) == canonical_bytes(normalise_instance(doc))
    parse_instance(out)
    # Independent spot checks, so the normal form itself cannot drift unnoticed.
    assert [e["id"] for e in out["experts"]] == sorted(e["id"] for e in doc["experts"])
    assert [s["id"] for s in out["sites"]] == ["AUXA", "AUXB", "AUXC", "MAIN", "OFF", "ZFAR"]
    assert [r["id"] for r in _by(out["sites"], "id", "ZFAR")["rooms"]] == ["ZFAR-R1", "ZFAR-R2", "ZFAR-R3"]
    e99 = _by(out["experts"], "id", "E99")
    assert e99["specialties"] == ["A0601", "B0102"] and e99["status"] == "suspended"
    assert e99["leave"] == [{"from": "2026-11-20", "to": "2026-11-24"}, {"from": "2026-12-01", "to": "2026-12-03"}]
    h2 = _by(out["history"], "project", "H-2")
    assert (h2["start"], h2["experts"], h2["tenderer"]) == ("2026-10-10T09:00:00+08:00", ["E01", "E03"], "TEND")
    assert _by(out["history"], "project", "H-3")["start"] == "2026-01-05T08:00:00+08:00"
    assert out["bookings"][0] == {"expert": "E04", "start": "2026-11-23T07:00:00+08:00",
                                  "end": "2026-11-23T10:00:00+08:00"}
    p0, p1 = out["projects"]
    assert (p0["id"], p0["aux_sites"], p0["budget"], p0["agent"]) == ("P0", None, 12_500_000.5, None)
    assert p0["start"] == "2026-11-23T14:00:00+08:00" and p0["bidders"] == []
    assert p1["aux_sites"] == ["AUXB", "AUXA"]  # the stated order is kept
    assert p1["bidders"] == ["BID1", "BID2"] and p1["excluded_experts"] == ["E10", "E11"]
    assert [n["specialty"] for n in p1["needs"]] == ["A06", "A08"]
    assert _by(out["relations"], "kind", "shareholder") == {
        "expert": "E02", "org": "BID2", "kind": "shareholder", "from": "2020-02-29", "to": None}
    assert out["rules"] == {"max_travel_km": 120}


def test_reimport_changes_nothing_and_export_is_stable(engine: Engine) -> None:
    doc = rich_instance()
    first = _import(engine, doc)
    assert first.created["experts"] == 16 and first.created["committee_members"] == 5
    before, exported = _counts(engine), canonical_bytes(_export(engine))
    again = _import(engine, copy.deepcopy(doc))
    assert again.changes == 0, again.as_dict()
    assert _counts(engine) == before
    assert canonical_bytes(_export(engine)) == exported
    # Re-importing the export itself is a no-op too.
    assert _import(engine, _export(engine)).changes == 0


def test_export_does_not_depend_on_insertion_order(engine: Engine) -> None:
    doc = rich_instance()
    shuffled = copy.deepcopy(doc)
    rng = random.Random(5)
    for key in ("sites", "orgs", "experts", "relations", "penalties", "history", "bookings", "projects"):
        rng.shuffle(shuffled[key])
    for e in shuffled["experts"]:
        rng.shuffle(e["specialties"])
    # Same DB state reached two ways: import the shuffled copy, then the original (no-op).
    _import(engine, shuffled)
    first = canonical_bytes(_export(engine, rules=doc["rules"]))
    assert first == canonical_bytes(normalise_instance(doc))


def test_reimport_applies_changes(engine: Engine) -> None:
    doc = rich_instance()
    _import(engine, doc)
    changed = copy.deepcopy(doc)
    e02 = _by(changed["experts"], "id", "E02")
    e02["name"], e02["specialties"], e02["employer"] = "新名字", ["A0601"], None
    _by(changed["sites"], "id", "MAIN")["rooms"][0]["seats"] = 11
    p1 = _by(changed["projects"], "id", "P1")
    p1["aux_sites"], p1["size"] = ["AUXA"], 4
    _by(p1["needs"], "specialty", "A08")["count"] = 2
    p1["excluded_experts"] = ["E09"]
    changed["penalties"] = []  # a file that omits a penalty does not lift it
    changed["relations"].append({"expert": "E03", "org": "AGENT", "kind": "director", "from": "2021-01-01",
                                 "to": None})
    report = _import(engine, changed)
    assert report.updated["experts"] == 1 and report.updated["rooms"] == 1 and report.updated["projects"] == 1
    assert report.deleted["expert_specialties"] == 1 and report.created["expert_relations"] == 1
    assert report.deleted["project_aux_sites"] == 2 and report.created["project_aux_sites"] == 1
    assert report.deleted["project_needs"] == 1 and report.created["project_needs"] == 1
    assert report.created["project_exclusions"] == 1 and report.deleted["project_exclusions"] == 0
    out = _export(engine)
    e02_out = _by(out["experts"], "id", "E02")
    assert (e02_out["name"], e02_out["specialties"], e02_out["employer"]) == ("新名字", ["A0601"], None)
    assert _by(out["sites"], "id", "MAIN")["rooms"][0] == {"id": "MAIN-R1", "seats": 11}
    p1_out = _by(out["projects"], "id", "P1")
    assert p1_out["aux_sites"] == ["AUXA"] and p1_out["size"] == 4
    assert p1_out["needs"] == [{"specialty": "A06", "count": 1}, {"specialty": "A08", "count": 2}]
    assert p1_out["excluded_experts"] == ["E09", "E10", "E11"]
    assert len(out["penalties"]) == 2 and len(out["relations"]) == 4


def test_history_and_bookings_are_cut_to_the_plan_window(engine: Engine) -> None:
    doc = rich_instance()
    doc["history"].append({"project": "H-OLD", "tenderer": None, "start": "2025-10-01T09:00:00+08:00",
                           "end": "2025-10-01T12:00:00+08:00", "experts": ["E01"]})
    doc["history"].append({"project": "H-LATER", "tenderer": None, "start": "2026-11-24T09:00:00+08:00",
                           "end": "2026-11-24T12:00:00+08:00", "experts": ["E01"]})
    doc["bookings"].append({"expert": "E05", "start": "2026-12-24T09:00:00+08:00",
                            "end": "2026-12-24T12:00:00+08:00"})
    _import(engine, doc)
    out = _export(engine, rules=doc["rules"])
    assert canonical_bytes(out) == canonical_bytes(normalise_instance(doc))
    assert {h["project"] for h in out["history"]} == {"H-0", "H-1", "H-2", "H-3"}
    assert all(b["expert"] != "E05" for b in out["bookings"])
    # A longer familiar-pair window reaches further back (420 days > 400).
    wide = _export(engine, rules={"familiar_pair_days": 420})
    assert "H-OLD" in {h["project"] for h in wide["history"]}
    # With only P1 (09:00) exported, P0's later start no longer widens the window.
    only_p1 = _export(engine, project_codes=["P1"])
    assert [p["id"] for p in only_p1["projects"]] == ["P1"]
    with pytest.raises(UnknownProjectError, match="NOPE"):
        _export(engine, project_codes=["P1", "NOPE"])
    everything = _export(engine, project_codes=[])
    assert everything["projects"] == [] and len(everything["history"]) == 6 and len(everything["bookings"]) == 3


def test_display_offset_comes_from_settings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _import(engine, rich_instance())
    fake = types.SimpleNamespace(display_utc_offset_hours=0, rules_file=None)
    monkeypatch.setattr(normal_form, "get_settings", lambda: fake)
    out = _export(engine)
    assert _by(out["projects"], "id", "P1")["start"] == "2026-11-23T01:00:00+00:00"


def test_export_from_rows_built_by_the_services_layer(session: Session) -> None:
    jn, zq = make_site(session, code="JN"), make_site(session, code="ZQ", lat=36.714, lon=117.526)
    make_room(session, site=jn, code="JN-R1", seats=9)
    tend, emp = make_org(session, code="TEND"), make_org(session, code="EMP", region="370100")
    e1 = make_expert(session, code="E1", specialties=("A0801", "A0601"), employer=emp, id_number="SECRET-ID")
    e2 = make_expert(session, code="E2", specialties=("A0802",))
    make_expert(session, code="E0", specialties=())  # cannot be drawn: not exported
    make_committee(session, code="H1", experts=[e1, e2], start=EVAL_START - timedelta(days=10), tenderer=tend)
    p = make_project(session, code="P-1", tenderer=tend, main_site=jn)
    make_project(session, code="P-2", tenderer=tend, main_site=jn, aux_sites=[zq], needs=[("A06", 2)],
                 start=EVAL_START + timedelta(hours=1))
    assert p.id is not None and e2.id is not None
    session.add(ProjectExclusion(project_id=p.id, expert_id=e2.id, reason="declined"))
    session.commit()
    out = export_instance(session)
    parse_instance(out)
    assert "SECRET-ID" not in canonical_bytes(out).decode()
    assert [e["id"] for e in out["experts"]] == ["E1", "E2"]
    assert _by(out["experts"], "id", "E1")["employer"] == "EMP"
    assert [(p["id"], p["aux_sites"], p["excluded_experts"]) for p in out["projects"]] == [
        ("P-1", None, ["E2"]), ("P-2", ["ZQ"], [])]
    assert out["history"] == [{"project": "H1", "tenderer": "TEND", "start": "2026-11-13T09:00:00+08:00",
                               "end": "2026-11-13T12:00:00+08:00", "experts": ["E1", "E2"]}]


def test_invalid_documents_write_nothing(engine: Engine) -> None:
    doc = rich_instance()
    doc["projects"][0]["main_site"] = "NOWHERE"
    with Session(engine) as s, pytest.raises(InstanceError) as info:
        import_instance(s, doc)
    assert info.value.path == "$.projects[0].main_site"
    dup = rich_instance()
    dup["history"].append(dict(dup["history"][0]))
    with Session(engine) as s, pytest.raises(InstanceError, match="duplicate history project"):
        import_instance(s, dup)
    long_id = rich_instance()
    long_id["experts"][0]["id"] = "E" * 41
    long_id["experts"][0]["name"] = "x"
    with Session(engine) as s, pytest.raises(InstanceError, match="longer than 40"):
        import_instance(s, long_id)
    assert all(n == 0 for n in _counts(engine).values())


def test_imported_rows_are_typed_for_the_domain(engine: Engine) -> None:
    _import(engine, rich_instance())
    with Session(engine) as s:
        e99 = s.exec(sm_select(Expert).where(Expert.code == "E99")).one()
        assert (e99.status, e99.birth_date, e99.id_number) == ("suspended", date(1970, 5, 1), None)
        specs = s.exec(sm_select(ExpertSpecialty.code).where(ExpertSpecialty.expert_id == e99.id)).all()
        assert sorted(specs) == ["A0601", "B0102"]
        assert s.exec(sm_select(Penalty.reason).where(Penalty.expert_id == e99.id)).one() == "串标"
        rel = s.exec(sm_select(Relation).where(Relation.kind == "avoid")).one()
        assert rel.from_date is None and rel.to_date is None
        excl = s.exec(sm_select(ProjectExclusion)).all()
        assert len(excl) == 2 and all(x.reason == "imported" and x.at.tzinfo is not None for x in excl)


@pytest.mark.slow
def test_pool_sized_import_round_trips(engine: Engine) -> None:
    # Timings of this import are measured by benchmarks/bench_import.py, not asserted here.
    doc = large_instance(n_experts=20_000, n_committees=30_000)
    report = _import(engine, doc)
    assert report.created["experts"] == 20_015 and report.created["committees"] == 30_001
    assert report.created["expert_specialties"] >= 39_000
    assert _import(engine, doc).changes == 0
    out = _export(engine)
    assert len(out["experts"]) == 20_015 and len(out["history"]) == 30_001
    assert datetime.fromisoformat(out["history"][0]["start"]).utcoffset() == timedelta(hours=8)
