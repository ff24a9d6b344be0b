"""Job bodies with a fixed `now` on the tiny day: unsealing, check-in deadline, daily statistics, notify (both DBs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

import ledger
from config.settings import get_settings
from evaluation import invitations, scheduled, service
from evaluation.importer import import_instance
from evaluation.models import CheckinDeadline, DailyStats, Draw, Project
from notify import scheduled as notify_jobs
from notify import service as notify_service
from tests.evaluation.test_statistics import stats_day
from tests.factories_instance import tiny_day

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # P1: 09:00 +08:00


@pytest.fixture()
def drawn(session: Session) -> Draw:
    import_instance(session, tiny_day()[0])
    session.commit()
    return service.draw(session, project_codes=["P1"], seed_hex="5eed")


@pytest.fixture()
def no_hooks() -> Iterator[None]:
    saved = list(scheduled._deadline_hooks)
    scheduled._deadline_hooks.clear()
    yield
    scheduled._deadline_hooks[:] = saved


def test_reveal_waits_for_the_start_then_unseals_once(session: Session, drawn: Draw) -> None:
    assert scheduled.reveal_started(session, now=START - timedelta(seconds=1)) == {"revealed": []}
    session.refresh(drawn)
    assert drawn.status == "drawn" and drawn.seed_hex is None
    assert scheduled.reveal_started(session, now=START) == {"revealed": [drawn.id]}
    session.refresh(drawn)
    assert drawn.status == "revealed" and drawn.seed_hex == "5eed"
    assert scheduled.reveal_started(session, now=START + timedelta(minutes=1)) == {"revealed": []}
    reveals = ledger.entries(session, kind_prefix="draw.reveal")
    assert len(reveals) == 1 and reveals[0].actor == "scheduler"


def test_reveal_of_a_broken_draw_fails_the_run_but_reveals_the_others(session: Session) -> None:
    inst, _ = tiny_day()
    from tests.factories_instance import second_project

    second_project(inst)
    import_instance(session, inst)
    session.commit()
    first = service.draw(session, project_codes=["P1"], seed_hex="01")
    second = service.draw(session, project_codes=["P2"], seed_hex="02")
    first.sealed_result = b"\x00" * 40  # tampered: it no longer authenticates
    session.add(first)
    session.commit()
    with pytest.raises(scheduled.RevealFailed, match="1 draw"):
        scheduled.reveal_started(session, now=START + timedelta(hours=2))
    session.refresh(second)
    session.refresh(first)
    assert second.status == "revealed" and first.status == "drawn"


def test_checkin_deadline_is_handled_once_after_the_grace(session: Session, drawn: Draw, no_hooks: None) -> None:
    grace = timedelta(minutes=get_settings().checkin_grace_minutes)
    assert scheduled.handle_checkin_deadlines(session, now=START + grace - timedelta(seconds=1))["handled"] == 0
    got = scheduled.handle_checkin_deadlines(session, now=START + grace)
    session.commit()
    assert got == {"handled": 1, "hooks": 0, "projects": ["P1"]}
    entry = ledger.entries(session, kind_prefix="checkin.deadline")[0]
    payload = json.loads(entry.payload)
    assert payload["seats"] == 4 and sum(payload["seats_per_site"].values()) == 4
    assert "E0" not in entry.payload and "E1" not in entry.payload  # seat counts only
    assert scheduled.handle_checkin_deadlines(session, now=START + 2 * grace)["handled"] == 0
    assert len(ledger.entries(session, kind_prefix="checkin.deadline")) == 1
    assert session.exec(select(CheckinDeadline)).one().hooks == 0


def test_grace_is_a_setting(session: Session, drawn: Draw, no_hooks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "checkin_grace_minutes", 5)
    assert scheduled.handle_checkin_deadlines(session, now=START + timedelta(minutes=4))["handled"] == 0
    assert scheduled.handle_checkin_deadlines(session, now=START + timedelta(minutes=5))["handled"] == 1


def test_registered_hook_runs_once_per_project_instead_of_the_ledger_entry(
    session: Session, drawn: Draw, no_hooks: None
) -> None:
    calls: list[tuple[str, datetime]] = []

    def hook(session: Session, *, project: Project, now: datetime) -> None:
        calls.append((project.code, now))

    scheduled.register_checkin_deadline_hook(hook)
    scheduled.register_checkin_deadline_hook(hook)  # registering twice still runs it once
    late = START + timedelta(hours=1)
    assert scheduled.handle_checkin_deadlines(session, now=late)["hooks"] == 1
    session.commit()
    scheduled.handle_checkin_deadlines(session, now=late + timedelta(minutes=1))
    assert calls == [("P1", late)]
    assert ledger.entries(session, kind_prefix="checkin.deadline") == []
    assert session.exec(select(CheckinDeadline)).one().hooks == 1


def test_planned_projects_have_no_checkin_deadline(session: Session, no_hooks: None) -> None:
    import_instance(session, tiny_day()[0])
    session.commit()
    assert scheduled.handle_checkin_deadlines(session, now=START + timedelta(days=1))["handled"] == 0


def test_daily_statistics_stores_yesterday_once(session: Session) -> None:
    stats_day(session)
    # 00:10 on the 24th, local time (+08:00): the figures are for the 23rd (P1, P2).
    now = datetime(2026, 11, 23, 16, 10, tzinfo=UTC)
    assert scheduled.daily_statistics(session, now=now) == {"day": "2026-11-23", "projects": 2, "seats": 6}
    session.commit()
    again = scheduled.daily_statistics(session, now=now + timedelta(hours=3))
    session.commit()
    assert again["day"] == "2026-11-23"
    row = session.exec(select(DailyStats)).one()
    assert (row.projects, row.drawn, row.infeasible, row.seats) == (2, 2, 0, 6)
    assert row.seats_per_site == {"AUXA": 1, "AUXB": 1, "MAIN": 4}
    assert row.seats_per_kind == {"main_centre": 4, "sub_centre": 1, "centre": 0, "partner": 1}
    assert (row.region_known_seats, row.cross_region_seats) == (4, 3)


def test_notify_jobs_call_the_notify_service_with_now(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, datetime]] = []

    def dispatch_pending(s: Session, *, now: datetime) -> int:
        assert s is session
        calls.append(("dispatch", now))
        return 3

    def enqueue_reminders(s: Session, *, now: datetime) -> int:
        calls.append(("reminders", now))
        return 2

    monkeypatch.setattr(notify_service, "dispatch_pending", dispatch_pending)
    monkeypatch.setattr(invitations, "enqueue_reminders", enqueue_reminders)
    assert notify_jobs.dispatch_notifications(session, now=START) == {"count": 3}
    assert scheduled.enqueue_reminders(session, now=START) == {"count": 2}
    assert calls == [("dispatch", START), ("reminders", START)]


def test_notify_dispatch_on_an_empty_outbox(session: Session) -> None:
    assert notify_jobs.dispatch_notifications(session, now=START) == {"count": 0}
