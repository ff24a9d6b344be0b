"""Draws stored in the database: sealed seats, ledger entries, reveal and replacement (both databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

import ledger
from evaluation import replacements, service
from evaluation.importer import import_instance
from evaluation.models import Draw, Replacement, Seat
from tests.checker import check
from tests.factories_instance import tiny_day

BEFORE = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 +08:00, the evaluation has started


@pytest.fixture()
def drawn(session: Session) -> tuple[Session, Draw, dict]:
    inst, _ = tiny_day()
    import_instance(session, inst)
    session.commit()
    row = service.draw(session, project_codes=["P1"], seed_hex="5eed")
    return session, row, inst


def test_draw_is_stored_sealed_and_ledgered(drawn: tuple[Session, Draw, dict]) -> None:
    session, row, _ = drawn
    assert row.status == "drawn" and row.seed_hex is None
    summary = json.loads(row.public_summary)
    assert summary["P1"]["status"] == "drawn" and sum(summary["P1"]["seats_per_site"].values()) == 4
    seats = session.exec(select(Seat).where(Seat.draw_id == row.id)).all()
    assert len(seats) == 4
    # No expert code appears anywhere in clear in the stored draw (D5).
    blobs = b"".join(s.expert_sealed for s in seats) + (row.sealed_result or b"")
    assert not any(f"E{i:02d}".encode() in blobs for i in range(1, 16))
    kinds = [e.kind for e in ledger.entries(session)]
    assert kinds == ["draw.commit", "draw.result"]
    assert ledger.verify(session).ok


def test_reveal_only_after_start_and_replays(drawn: tuple[Session, Draw, dict]) -> None:
    session, row, inst = drawn
    assert row.id is not None
    with pytest.raises(service.StillSealed):
        service.reveal(session, draw_id=row.id, now=BEFORE)
    result = service.reveal(session, draw_id=row.id, now=AFTER)
    assert result["seed"] == "5eed" and session.get(Draw, row.id).seed_hex == "5eed"  # type: ignore[union-attr]
    assert ledger.entries(session)[-1].kind == "draw.reveal"
    from evaluation.export import export_instance

    doc = export_instance(session, project_codes=["P1"], rules=service.deployment_rules().as_json())
    assert check(doc, result) == []


def test_replacement_takes_first_alternate_and_is_recorded(drawn: tuple[Session, Draw, dict]) -> None:
    session, row, _ = drawn
    assert row.id is not None
    result = service.reveal(session, draw_id=row.id, now=AFTER)
    proj = result["projects"][0]
    leaving = proj["seats"][0]
    record = replacements.replace(session, draw_id=row.id, project_code="P1", expert_code=leaving["expert"],
                             reason="declined", now=AFTER)
    first_alt = next(a["experts"] for a in proj["alternates"] if a["need"] == leaving["need"])[0]
    assert record["source"] == "alternate" and record["replacement"] == first_alt
    after = service.reveal(session, draw_id=row.id, now=AFTER)["projects"][0]
    experts = {s["expert"] for s in after["seats"]}
    assert leaving["expert"] not in experts and first_alt in experts
    # All other seats stay as they were (R1).
    others = {(s["expert"], s["site"], s["room"]) for s in proj["seats"][1:]}
    assert others <= {(s["expert"], s["site"], s["room"]) for s in after["seats"]}
    assert session.exec(select(Replacement)).one().reason == "declined"
    entry = ledger.entries(session, kind_prefix="draw.replace")[0]
    assert json.loads(entry.payload)["reason"] == "declined" and leaving["expert"] not in entry.payload
    assert ledger.verify(session).ok


def test_tampering_with_the_ledger_is_detected(drawn: tuple[Session, Draw, dict]) -> None:
    session, _, _ = drawn
    session.execute(text("UPDATE ledger_entry SET payload = '{}' WHERE seq = 1"))
    session.commit()
    report = ledger.verify(session)
    assert not report.ok and any("seq 1" in p for p in report.problems)


def test_a_day_plan_opens_each_committee_at_its_own_start(session: Session) -> None:
    from datetime import timedelta

    from tests.factories_instance import second_project

    inst, _ = tiny_day()
    second_project(inst, start="2026-11-23T15:00:00+08:00", end="2026-11-23T17:00:00+08:00")
    import_instance(session, inst)
    session.commit()
    row = service.draw(session, project_codes=["P1", "P2"], seed_hex="5eed")
    assert row.id is not None
    morning = service.reveal(session, draw_id=row.id, now=AFTER)
    # P1 has started, P2 has not: only P1's committee opens, and the seed (which would let anyone
    # replay P2's draw) stays unpublished.
    assert [p["project"] for p in morning["projects"]] == ["P1"] and morning["seed"] is None
    assert session.get(Draw, row.id).seed_hex is None  # type: ignore[union-attr]
    assert service.unsealed_projects(session, draw_id=row.id) == {"P1"}
    opened = service.opened(session, draw_id=row.id, now=AFTER)
    assert opened is not None and [p["project"] for p in opened["projects"]] == ["P1"]
    entries = [json.loads(e.payload) for e in ledger.entries(session, kind_prefix="draw.reveal")]
    assert entries == [{"projects": ["P1"]}]
    afternoon = service.reveal(session, draw_id=row.id, now=AFTER + timedelta(hours=6))
    assert [p["project"] for p in afternoon["projects"]] == ["P1", "P2"] and afternoon["seed"] == "5eed"
    assert session.get(Draw, row.id).status == "revealed"  # type: ignore[union-attr]
    last = json.loads(ledger.entries(session, kind_prefix="draw.reveal")[-1].payload)
    assert last["projects"] == ["P2"] and last["seed"] == "5eed"


def test_two_committed_draws_of_one_project_store_one_committee(session: Session) -> None:
    inst, _ = tiny_day()
    import_instance(session, inst)
    session.commit()
    first = service.commit_draw(session, project_codes=["P1"], seed_hex="01")
    second = service.commit_draw(session, project_codes=["P1"], seed_hex="02")  # both committed before a run
    assert first.id is not None and second.id is not None
    service.run_draw(session, draw_id=first.id)
    with pytest.raises(service.DrawStateError):
        service.run_draw(session, draw_id=second.id)
    seats = session.exec(select(Seat)).all()
    assert {s.draw_id for s in seats} == {first.id} and len(seats) == 4
    assert session.get(Draw, second.id).status == "committed"  # type: ignore[union-attr]


def test_a_solve_that_runs_past_the_start_stores_nothing(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    # Committed 30 s before the start, the solve "takes" a minute: stored, it would unseal at once (D5).
    import_instance(session, tiny_day()[0])
    session.commit()
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    now = start - timedelta(seconds=30)
    row = service.commit_draw(session, project_codes=["P1"], seed_hex="5eed", now=now)
    calls: list[int] = []

    def monotonic() -> float:  # the first reading starts the solve; every later one is a minute on
        calls.append(1)
        return 0.0 if len(calls) == 1 else 60.0

    monkeypatch.setattr(service.time, "monotonic", monotonic)
    with pytest.raises(service.DrawTooLate):
        service.run_draw(session, draw_id=row.id or 0, now=now)
    session.rollback()
    assert session.get(Draw, row.id).status == "committed"  # type: ignore[union-attr]
    assert session.exec(select(Seat)).all() == []
    with pytest.raises(service.DrawTooLate):  # and at the start itself it cannot be drawn
        service.draw(session, project_codes=["P1"], seed_hex="5eed", now=start)
