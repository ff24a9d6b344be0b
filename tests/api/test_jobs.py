"""The job runner (run-once claims, persistent job store, lifespan) and the jobs/statistics routes (both DBs)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.jobs import bodies, runner
from api.jobs.models import JobRun, apscheduler_jobs
from config import clock, db
from config.settings import get_settings
from evaluation import scheduled
from tests.api_support import AFTER_START, app_client, bearer
from tests.evaluation.test_statistics import stats_day

CST = timezone(timedelta(hours=8))
PROBE = runner.JobSpec("probe", "探针", "Probe", every_seconds=60, grace_seconds=30)
NOW = datetime(2026, 11, 23, 1, 30, 7, tzinfo=UTC)


class Counting:
    """A job body that counts its runs and writes nothing."""

    def __init__(self) -> None:
        self.calls: list[datetime] = []
        self._lock = threading.Lock()

    def __call__(self, session: Session, *, now: datetime) -> dict[str, int]:
        with self._lock:
            self.calls.append(now)
        return {"count": len(self.calls)}


def test_the_same_run_claimed_twice_runs_once(engine: Engine) -> None:
    body = Counting()
    first = runner.execute(PROBE, body, now=NOW, engine=engine)
    # A second process fires the same scheduled run a little later: the claim stops it.
    assert runner.execute(PROBE, body, now=NOW + timedelta(seconds=20), engine=engine) is None
    assert first is not None and first.status == "ok" and first.summary == {"count": 1}
    assert first.run_at == datetime(2026, 11, 23, 1, 30, tzinfo=UTC) and first.finished_at is not None
    assert len(body.calls) == 1
    # The next slot is a new run.
    assert runner.execute(PROBE, body, now=NOW + timedelta(seconds=60), engine=engine) is not None
    with Session(engine) as session:
        assert len(session.exec(select(JobRun)).all()) == 2


def test_concurrent_claims_of_one_run_let_one_through(engine: Engine) -> None:
    body = Counting()
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(runner.execute(PROBE, body, now=NOW, engine=engine)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(body.calls) == 1 and sum(r is not None for r in results) == 1


def test_a_failing_run_is_recorded_without_personal_data(engine: Engine) -> None:
    def failing(session: Session, *, now: datetime) -> dict[str, int]:
        raise ValueError("cannot reach zhang.san@example.com or 13800138000\nsecond line")

    run = runner.execute(PROBE, failing, now=NOW, engine=engine)
    assert run is not None and run.status == "failed"
    assert run.error == "ValueError: cannot reach <email> or <number>"


def test_slots_are_aligned_and_the_daily_slot_is_local() -> None:
    assert runner.slot_for(PROBE, NOW) == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    daily = runner.JobSpec("d", "日", "Daily", daily_at=time(0, 10), grace_seconds=3600)
    assert runner.slot_for(daily, datetime(2026, 11, 24, 0, 15, tzinfo=CST)) == datetime(2026, 11, 24, 0, 10,
                                                                                         tzinfo=CST)
    assert runner.slot_for(daily, datetime(2026, 11, 24, 0, 5, tzinfo=CST)) == datetime(2026, 11, 23, 0, 10,
                                                                                        tzinfo=CST)


@pytest.fixture()
def on_engine(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The service's engine and clock pointed at the test database and NOW."""
    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return engine


def test_two_schedulers_on_one_database_run_a_job_once(on_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    body = Counting()
    monkeypatch.setitem(bodies.BODIES, "draw.reveal", body)
    a, b = runner.start(on_engine, paused=True), runner.start(on_engine, paused=True)
    try:
        ids = {s.id for s in runner.job_specs()}
        assert {j.id for j in a.get_jobs()} == ids == {j.id for j in b.get_jobs()}
        # Both fire the job as stored in the shared job store (what their executors would call).
        for scheduler in (a, b):
            job = scheduler.get_job("draw.reveal")
            job.func(*job.args, **job.kwargs)
    finally:
        runner.stop(a)
        runner.stop(b)
    assert len(body.calls) == 1
    with Session(on_engine) as session:
        assert session.exec(select(JobRun.job_id)).all() == ["draw.reveal"]


def test_jobs_persist_across_scheduler_restarts(on_engine: Engine) -> None:
    first = runner.start(on_engine, paused=True)
    before = {j.id: (j.next_run_time, str(j.trigger)) for j in first.get_jobs()}
    runner.stop(first)
    second = runner.build_scheduler(on_engine)
    second.start(paused=True)  # no jobs added: what it has comes from the store
    try:
        after = {j.id: (j.next_run_time, str(j.trigger)) for j in second.get_jobs()}
    finally:
        runner.stop(second)
    assert after == before and len(after) == len(runner.job_specs())
    assert "interval[0:01:00]" in after["notify.dispatch"][1] and "cron" in after["stats.daily"][1]


def test_unknown_job_in_the_store_is_ignored(on_engine: Engine) -> None:
    runner.run_job("no.such.job")
    with Session(on_engine) as session:
        assert session.exec(select(JobRun)).all() == []


# --- routes ---------------------------------------------------------------------------------


@pytest.fixture()
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with app_client(engine, monkeypatch) as c:
        with Session(engine) as session:
            stats_day(session)
        yield c


def test_lifespan_starts_and_stops_the_scheduler(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    s = get_settings()
    monkeypatch.setattr(s, "jobs_enabled", True)
    # Intervals of a day, so that nothing fires while the test runs.
    for name in ("notify_dispatch_interval_seconds", "reminder_interval_seconds", "reveal_interval_seconds",
                 "checkin_deadline_interval_seconds"):
        monkeypatch.setattr(s, name, 86400)
    started = []
    real_start = runner.start
    monkeypatch.setattr(runner, "start", lambda *a, **k: started.append(real_start(*a, **k)) or started[-1])
    with app_client(engine, monkeypatch) as c:
        assert started and started[0].running
        jobs = c.get("/api/jobs", headers=bearer(c, "admin")).json()
        assert all(j["scheduled"] and j["next_run_time"] for j in jobs)
    assert not started[0].running


def test_jobs_route_is_admin_only_and_shows_last_runs(client: TestClient, engine: Engine) -> None:
    assert client.get("/api/jobs", headers=bearer(client, "coord")).status_code == 403
    runner.execute(runner.spec_for("draw.reveal"), scheduled.reveal_started, now=AFTER_START,  # type: ignore[arg-type]
                   engine=engine)
    r = client.get("/api/jobs", headers=bearer(client, "admin"))
    assert r.status_code == 200
    jobs = {j["id"]: j for j in r.json()}
    assert set(jobs) == {s.id for s in runner.job_specs()}
    assert jobs["draw.reveal"]["name"] == "开评解封" and jobs["stats.daily"]["trigger"].startswith("daily 00:10")
    # The tests run no scheduler, so the store is empty; the run made above is listed.
    assert not jobs["draw.reveal"]["scheduled"] and jobs["draw.reveal"]["next_run_time"] is None
    [run] = jobs["draw.reveal"]["last_runs"]
    assert run["status"] == "ok" and run["summary"] == {"revealed": []}  # P1's draw is revealed already
    assert client.get("/api/jobs?runs=999", headers=bearer(client, "admin")).status_code == 422


def test_stats_route_scoped_to_the_callers_sites(client: TestClient) -> None:
    q = {"from": "2026-11-23T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00", "group": "week"}
    r = client.get("/api/stats", params=q, headers=bearer(client, "coord"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == q["from"] and body["to"] == q["to"] and body["group"] == "week"
    assert [(p["period"], p["projects"]) for p in body["periods"]] == [("2026-W48", 2), ("2026-W49", 1)]
    assert body["cross_region"]["share"] == 0.75 and body["seats"]["total"] == 6
    scoped = client.get("/api/stats", params=q, headers=bearer(client, "coord_auxa")).json()
    assert scoped["totals"]["projects"] == 1 and [s["site"] for s in scoped["seats"]["per_site"]] == ["AUXA"]
    off = client.get("/api/stats", params=q, headers=bearer(client, "super_off")).json()
    assert off["totals"]["projects"] == 0 and off["seats"]["total"] == 0
    assert client.get("/api/stats", params=q, headers=bearer(client, "expert1")).status_code == 403
    assert client.get("/api/stats", params=q).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [({"to": "2026-12-01T00:00:00+08:00"}, "from"),
     ({"from": "2026-12-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"}, "to"),
     ({"from": "2026-11-01T00:00:00", "to": "2026-12-01T00:00:00+08:00"}, "from"),
     ({"from": "2020-01-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"}, "to"),
     ({"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00", "group": "year"}, "group"),
     ({"from": "yesterday", "to": "2026-12-01T00:00:00+08:00"}, "from")],
)
def test_bad_stats_query_is_422_naming_the_field(client: TestClient, params: dict, field: str) -> None:
    r = client.get("/api/stats", params=params, headers=bearer(client, "coord"))
    assert r.status_code == 422 and any(field in d["loc"] for d in r.json()["detail"]), r.text


def test_job_store_table_is_the_declared_one(on_engine: Engine) -> None:
    scheduler = runner.start(on_engine, paused=True)
    runner.stop(scheduler)
    with on_engine.connect() as conn:
        assert len(conn.execute(sa_select(apscheduler_jobs.c.id)).all()) == len(runner.job_specs())
