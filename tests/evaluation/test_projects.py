"""Projects service: validation, updates after a draw, and the bid-opening re-check (both databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

import ledger
from evaluation import projects, service
from evaluation.commitments import draw_result
from evaluation.export import export_instance
from evaluation.importer import import_instance
from evaluation.models import Draw, NeedIn, ProjectCreate, ProjectUpdate
from tests.checker import check
from tests.factories_instance import tiny_day

BEFORE = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def _create(**over: Any) -> ProjectCreate:
    data: dict[str, Any] = {
        "code": "P9", "procedure": "engineering_tender", "budget": 1_000_000, "region": "370114",
        "start": "2026-12-01T09:00:00+08:00", "end": "2026-12-01T12:00:00+08:00", "size": 5,
        "representatives": 1, "tenderer_code": "TEND", "main_site_code": "MAIN", "aux_site_codes": ["AUXA"],
        "needs": [{"specialty": "A08", "count": 4}],
    }
    data.update(over)
    return ProjectCreate.model_validate(data)


@pytest.fixture()
def loaded(session: Session) -> Session:
    import_instance(session, tiny_day()[0])
    session.commit()
    return session


def _legal(session: Session, result: dict[str, Any]) -> list[Any]:
    doc = export_instance(session, project_codes=["P1"], rules=service.deployment_rules().as_json())
    # D2 is left out: a replacement uses up alternates, as in service.replace.
    return [v for v in check(doc, result) if v.rule != "D2"]


def test_create_validates_codes_times_and_needs(loaded: Session) -> None:
    for over, field in (({"main_site_code": "NOPE"}, "main_site_code"), ({"tenderer_code": "X"}, "tenderer_code"),
                        ({"bidder_codes": ["BID1", "ZZZ"]}, "bidder_codes"),
                        ({"aux_site_codes": ["MAIN"]}, "aux_site_codes"),
                        ({"end": "2026-12-01T08:00:00+08:00"}, "end"),
                        ({"needs": [{"specialty": "A08", "count": 3}]}, "needs")):
        with pytest.raises(projects.ProjectDataError) as err:
            projects.create_project(loaded, data=_create(**over))
        assert err.value.field == field
    p = projects.create_project(loaded, data=_create(aux_site_codes=None, bidder_codes=["BID1"]))
    loaded.commit()
    detail = projects.project_detail(loaded, project=p)
    assert detail["aux_mode"] == "random" and detail["aux_site_codes"] is None and detail["bidders_count"] == 1
    assert [e.kind for e in ledger.entries(loaded)][-1] == "project.create"
    with pytest.raises(projects.ProjectExists):
        projects.create_project(loaded, data=_create())


def test_update_while_planned_then_frozen_after_draw(loaded: Session) -> None:
    p = projects.update_project(loaded, code="P1", data=ProjectUpdate(
        size=7, representatives=2, needs=[NeedIn(specialty="A08", count=3), NeedIn(specialty="A06", count=2)]))
    assert p.size == 7
    with pytest.raises(projects.ProjectDataError) as err:
        projects.update_project(loaded, code="P1", data=ProjectUpdate(size=9))
    assert err.value.field == "needs"
    projects.update_project(loaded, code="P1", data=ProjectUpdate(
        size=5, representatives=1, needs=[NeedIn(specialty="A08", count=3), NeedIn(specialty="A06", count=1)]))
    loaded.commit()
    service.draw(loaded, project_codes=["P1"], seed_hex="5eed")
    with pytest.raises(projects.ProjectStateError) as state:
        projects.update_project(loaded, code="P1", data=ProjectUpdate(
            start=datetime(2026, 11, 24, 1, 0, tzinfo=UTC), end=datetime(2026, 11, 24, 4, 0, tzinfo=UTC)))
    assert state.value.field == "start" and "cancel" in str(state.value)
    assert projects.update_project(loaded, code="P1", data=ProjectUpdate(name="renamed")).name == "renamed"
    assert projects.cancel_project(loaded, code="P1").status == "cancelled"


def test_bid_opening_replaces_only_the_conflicted_expert(loaded: Session) -> None:
    row = service.draw(loaded, project_codes=["P1"], seed_hex="5eed")
    assert row.id is not None
    before = draw_result(row)["projects"][0]
    target = before["seats"][1]
    employer = f"EMP{target['expert'][1:]}"
    report = projects.open_bids(loaded, code="P1", bidder_codes=["BID1", employer], now=BEFORE)
    assert report["conflicted"] == 1 and report["replaced"] == 1 and report["bidders"] == 2
    assert report["per_site"] == {target["site"]: {"conflicted": 1, "replaced": 1}}
    # Before the start the answer names nobody (D5).
    assert not any(f"E{i:02d}" in json.dumps(report) for i in range(1, 16)) and "replacements" not in report
    after = service.reveal(loaded, draw_id=row.id, now=AFTER)
    seats = after["projects"][0]["seats"]
    assert target["expert"] not in {s["expert"] for s in seats}
    others = [s for s in before["seats"] if s is not target]
    assert all(s in seats for s in others) and len(seats) == len(before["seats"])
    assert _legal(loaded, after) == []
    assert [e.kind for e in ledger.entries(loaded)][-2:] == ["draw.replace", "draw.reveal"]


def test_bid_opening_after_start_names_and_without_conflict_changes_nothing(loaded: Session) -> None:
    row = service.draw(loaded, project_codes=["P1"], seed_hex="5eed")
    assert row.id is not None
    sealed = loaded.get(Draw, row.id).sealed_result  # type: ignore[union-attr]
    report = projects.open_bids(loaded, code="P1", bidder_codes=["BID2"], now=BEFORE)
    assert report["conflicted"] == 0 and loaded.get(Draw, row.id).sealed_result == sealed  # type: ignore[union-attr]
    first = draw_result(row)["projects"][0]["seats"][0]["expert"]
    late = projects.open_bids(loaded, code="P1", bidder_codes=[f"EMP{first[1:]}"], now=AFTER + timedelta(minutes=5))
    assert late["replaced"] == 1 and late["replacements"][0]["replaced"] == first
    assert len(loaded.exec(select(Draw)).all()) == 1


def test_a_sealed_committee_is_rechecked_once_before_the_start(loaded: Session) -> None:
    # Entering bidder lists again and again would ask, organisation by organisation, who sits on it (D5).
    row = service.draw(loaded, project_codes=["P1"], seed_hex="5eed")
    assert projects.open_bids(loaded, code="P1", bidder_codes=["BID2"], now=BEFORE)["bidders"] == 1
    sealed = row.sealed_result
    with pytest.raises(projects.ProjectStateError) as again:
        projects.open_bids(loaded, code="P1", bidder_codes=["BID1", "BID2"], now=BEFORE + timedelta(minutes=1))
    assert again.value.field == "bidder_codes" and "start" in str(again.value)
    loaded.rollback()
    loaded.expire_all()
    assert loaded.get(Draw, row.id).sealed_result == sealed  # type: ignore[union-attr]
    assert projects.project_detail(loaded, project=projects.get_project(loaded, code="P1"))["bidders_count"] == 1
    # After the start the committee is open, so the list may be corrected.
    assert projects.open_bids(loaded, code="P1", bidder_codes=["BID1"], now=AFTER)["bidders"] == 1
    assert projects.open_bids(loaded, code="P1", bidder_codes=["BID2"], now=AFTER)["bidders"] == 1


def test_bidders_entered_before_the_draw_do_not_use_up_the_bid_opening(loaded: Session) -> None:
    assert projects.open_bids(loaded, code="P1", bidder_codes=["BID2"], now=BEFORE)["draw_id"] is None
    service.draw(loaded, project_codes=["P1"], seed_hex="5eed")
    assert projects.open_bids(loaded, code="P1", bidder_codes=["BID1"], now=BEFORE)["bidders"] == 1
