"""Stale long operations: heartbeats keep live ones, the sweep fails those whose process stopped (both DBs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.jobs import runner
from api.jobs.models import JobRun
from config import clock, db
from config.settings import get_settings
from operations import scheduled, service
from operations.models import Operation

T0 = datetime(2026, 11, 23, 1, 30, 7, tzinfo=UTC)
FOREIGN = "other-host:4242:deadbeef"


class FakeClock:
    """config.clock.now, moved by the test instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@pytest.fixture
def fake(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The service's engine on the test database, and its clock at T0."""
    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    now = FakeClock(T0)
    monkeypatch.setattr(clock, "now", now)
    return now


def _stale() -> timedelta:
    return scheduled.stale_after()


def _row(engine: Engine, **values: Any) -> int:
    values.setdefault("kind", "test")
    values.setdefault("created_by", "user:coord")
    values.setdefault("created_at", T0 - timedelta(hours=1))
    with Session(engine) as s:
        op = Operation(**values)
        s.add(op)
        s.commit()
        assert op.id is not None
        return op.id


def _get(engine: Engine, op_id: int) -> Operation:
    with Session(engine) as s:
        op = s.get(Operation, op_id)
        assert op is not None
        return op


def _wait(engine: Engine, op_id: int, ok: Callable[[Operation], bool]) -> Operation:
    deadline = time.monotonic() + 60
    while True:
        op = _get(engine, op_id)
        if ok(op):
            return op
        assert time.monotonic() < deadline, f"operation {op_id} stuck: {op.status}"
        time.sleep(0.05)


def _sweep(engine: Engine, now: datetime) -> dict[str, Any]:
    with Session(engine) as s:
        out = scheduled.sweep_stale(s, now=now)
        s.commit()
        return out


@pytest.fixture
def blocked(fake: FakeClock, engine: Engine) -> Iterator[tuple[int, threading.Event]]:
    """A running operation whose work reports no progress until the test releases it."""
    release = threading.Event()

    def silent(progress: service.Progress) -> dict[str, Any]:
        assert release.wait(60)
        return {"ok": 1}

    with Session(engine) as s:
        op_id = service.start(s, kind="test", created_by="user:coord", work=silent).id or 0
    _wait(engine, op_id, lambda op: op.status == "running")
    try:
        yield op_id, release
    finally:
        release.set()
        _wait(engine, op_id, lambda op: op.status in ("done", "failed"))


def test_an_operation_records_its_worker_and_heartbeat(blocked: tuple[int, threading.Event], engine: Engine) -> None:
    op = _get(engine, blocked[0])
    assert op.worker == service.worker_id() and op.worker.count(":") == 2
    assert op.heartbeat_at is not None and blocked[0] in service.live_ids()


def test_heartbeat_keeps_a_silent_operation_alive_past_the_threshold(
        blocked: tuple[int, threading.Event], fake: FakeClock, engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    op_id, release = blocked
    for _ in range(3):  # three thresholds in all, the work silent throughout
        fake.advance(_stale() - timedelta(seconds=1))
        assert service.beat() == 1
        fake.advance(timedelta(seconds=2))
        # Swept as by another process (which cannot know the operation is ours): the heartbeat alone saves it.
        with monkeypatch.context() as m:
            m.setattr(service, "live_ids", lambda: set())
            assert _sweep(engine, fake.at) == {"failed": 0, "operations": []}
        assert _get(engine, op_id).status == "running"
    release.set()
    done = _wait(engine, op_id, lambda op: op.status == "done")
    assert done.report == {"ok": 1} and done.message == ""
    assert op_id not in service.live_ids()


def test_the_heartbeat_thread_beats_without_progress(blocked: tuple[int, threading.Event], fake: FakeClock,
                                                     engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "operation_heartbeat_seconds", 0.1)
    fake.advance(timedelta(hours=3))
    op = _wait(engine, blocked[0], lambda op: op.heartbeat_at is not None
               and op.heartbeat_at.replace(tzinfo=UTC) == fake.at)
    assert op.status == "running" and op.done == 0


def test_a_killed_operation_is_failed_by_the_sweep_with_its_message(fake: FakeClock, engine: Engine) -> None:
    old = T0 - _stale() - timedelta(seconds=1)
    draw = _row(engine, kind="draw.dayplan", status="running", worker=FOREIGN, heartbeat_at=old, total=3, done=1)
    imp = _row(engine, kind="expert.import", status="queued", worker=FOREIGN, heartbeat_at=old)
    other = _row(engine, kind="test", status="running", worker=FOREIGN, heartbeat_at=old)
    legacy = _row(engine, status="running", created_at=old)  # from before heartbeats: no worker, no beat
    finished = _row(engine, status="done", worker=FOREIGN, heartbeat_at=old, report={"ok": 1})
    out = _sweep(engine, T0)
    assert out == {"failed": 4, "operations": [draw, imp, other, legacy]}
    for op_id in (draw, imp, other, legacy):
        op = _get(engine, op_id)
        assert op.status == "failed" and op.finished_at is not None
        assert op.finished_at.replace(tzinfo=UTC) == T0
    assert "抽取" in _get(engine, draw).message and "can be run again" in _get(engine, draw).message
    assert "nothing was imported" in _get(engine, imp).message
    assert _get(engine, other).message == scheduled.STOPPED and "started again" in scheduled.STOPPED
    kept = _get(engine, finished)
    assert (kept.status, kept.message, kept.report) == ("done", "", {"ok": 1})
    assert _sweep(engine, T0 + timedelta(minutes=1)) == {"failed": 0, "operations": []}


def test_the_message_reaches_the_api_and_the_day_plan_page(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.api.test_pages import login
    from tests.api_support import BEFORE_START, app_client, bearer

    with app_client(engine, monkeypatch) as c:
        op_id = _row(engine, kind="draw.dayplan", status="running", worker=FOREIGN, created_by="user:coord",
                     heartbeat_at=BEFORE_START - _stale() - timedelta(seconds=5), total=2)
        _sweep(engine, BEFORE_START)
        body = c.get(f"/api/operations/{op_id}", headers=bearer(c, "coord")).json()
        assert body["status"] == "failed" and body["message"] == scheduled.message_for("draw.dayplan")
        assert "worker" not in body and "heartbeat_at" not in body
        draw = c.post("/api/draws/commitments", json={"project_codes": ["P1"]}, headers=bearer(c, "coord"))
        assert draw.status_code in (200, 201), draw.text
        login(c, "coord")
        page = c.get(f"/dayplan?date=2026-11-23&draw={draw.json()['id']}&operation={op_id}")
        assert page.status_code == 200 and 'id="dayplan-failed"' in page.text
        assert "can be run again" in page.text
        # The draw was never run, so the page offers to run it again.
        again = c.get(f"/dayplan?date=2026-11-23&draw={draw.json()['id']}")
        assert 'id="run-dayplan"' in again.text


def test_an_operation_of_a_live_worker_is_not_touched(fake: FakeClock, engine: Engine) -> None:
    fresh = T0 - _stale() + timedelta(seconds=5)
    live = _row(engine, kind="draw.dayplan", status="running", worker=FOREIGN, heartbeat_at=fresh)
    queued = _row(engine, status="queued", worker=FOREIGN, heartbeat_at=fresh)
    # A process starting now (the start-up sweep) leaves another live process's work alone.
    runner.sweep_now(engine)
    assert _sweep(engine, T0) == {"failed": 0, "operations": []}
    assert [_get(engine, i).status for i in (live, queued)] == ["running", "queued"]
    # The same rows once their worker has been silent past the threshold.
    assert _sweep(engine, T0 + timedelta(seconds=10))["operations"] == [live, queued]


def test_the_own_processes_operations_are_never_swept(blocked: tuple[int, threading.Event], fake: FakeClock,
                                                      engine: Engine) -> None:
    fake.advance(_stale() * 3)  # no beat: only being this process's own keeps it
    assert _sweep(engine, fake.at)["failed"] == 0
    assert _get(engine, blocked[0]).status == "running"


def test_a_queued_operation_failed_as_stale_never_runs(fake: FakeClock, engine: Engine) -> None:
    op_id = _row(engine, status="queued", worker=FOREIGN, heartbeat_at=T0 - _stale() * 2)
    _sweep(engine, T0)
    calls: list[int] = []

    def work(progress: service.Progress) -> dict[str, Any]:
        calls.append(1)
        return {}

    service._run(op_id, work)
    op = _get(engine, op_id)
    assert calls == [] and op.status == "failed" and op.message == scheduled.STOPPED


def test_a_beat_never_revives_a_failed_operation(blocked: tuple[int, threading.Event], fake: FakeClock,
                                                 engine: Engine) -> None:
    op_id = blocked[0]
    with Session(engine) as s:
        op = s.get(Operation, op_id)
        assert op is not None
        op.status = "failed"
        s.add(op)
        s.commit()
    before = _get(engine, op_id).heartbeat_at
    fake.advance(timedelta(minutes=5))
    assert service.beat() == 0
    assert _get(engine, op_id).heartbeat_at == before


def test_a_worker_finishing_after_the_sweep_does_not_undo_its_failure(
        blocked: tuple[int, threading.Event], fake: FakeClock, engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The user was told the operation stopped and could be started again: a late "done" must not appear.
    op_id, release = blocked
    fake.advance(_stale() + timedelta(minutes=1))
    with monkeypatch.context() as m:
        m.setattr(service, "live_ids", lambda: set())  # as another process sees it: silent for too long
        assert _sweep(engine, fake.at)["failed"] == 1
    release.set()
    deadline = time.monotonic() + 20
    while op_id in service.live_ids() and time.monotonic() < deadline:  # the worker has returned
        time.sleep(0.05)
    assert op_id not in service.live_ids()
    op = _get(engine, op_id)
    assert op.status == "failed" and op.report is None


def test_the_sweep_job_is_registered_and_claimed_once(fake: FakeClock, engine: Engine) -> None:
    spec = runner.spec_for(scheduled.JOB_ID)
    assert spec is not None and spec.every_seconds == get_settings().operation_sweep_interval_seconds
    dead = _row(engine, status="running", worker=FOREIGN, heartbeat_at=T0 - _stale() * 2)
    # Two processes fire the same run (the start-up sweep, then the scheduled one in the same slot).
    runner.sweep_now(engine)
    runner.run_job(scheduled.JOB_ID)
    with Session(engine) as s:
        runs = s.exec(select(JobRun).where(JobRun.job_id == scheduled.JOB_ID)).all()
    assert len(runs) == 1 and runs[0].status == "ok" and runs[0].summary == {"failed": 1, "operations": [dead]}
    # The next slot runs again (finding nothing left to fail).
    fake.advance(timedelta(seconds=spec.every_seconds or 0))
    runner.run_job(scheduled.JOB_ID)
    with Session(engine) as s:
        runs = s.exec(select(JobRun).where(JobRun.job_id == scheduled.JOB_ID).order_by(col(JobRun.run_at))).all()
    assert [r.summary["failed"] for r in runs] == [1, 0]
