"""The job scheduler: APScheduler's BackgroundScheduler with its job store in the service's database.

Jobs survive a restart (SQLAlchemyJobStore, table `apscheduler_jobs`). APScheduler 3 does not
coordinate two schedulers sharing that store, so with two service processes both may fire the
same run; each run therefore first claims (job_id, scheduled run time) in `job_runs`, whose
unique constraint lets exactly one process through. The scheduled run time is recomputed from the
trigger (interval slots are aligned on a fixed anchor, the daily job on its local time), so every
process derives the same slot. A run is at most once: a process that dies mid-run leaves its
claim "running" and the next slot runs normally. Late runs are coalesced; one later than its
misfire grace (half the interval; `daily_stats_grace_hours` for the daily job) is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.jobs.bodies import BODIES, JobBody
from api.jobs.models import JOBSTORE_TABLE, JobRun, RunStatus, apscheduler_jobs
from config import clock, db
from config.settings import Settings, get_settings
from evaluation.statistics import local_zone
from operations.scheduled import JOB_ID, sweep_stale

logger = logging.getLogger(__name__)

# Interval slots are counted from this instant, so every process computes the same run times.
ANCHOR = datetime(2000, 1, 3, tzinfo=UTC)
RUNNER = f"{socket.gethostname()}:{os.getpid()}"[:100]
_EMAIL = re.compile(r"[^\s@<>]+@[^\s@<>]+")
_DIGITS = re.compile(r"\d{7,}")


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: its id (a key of api.jobs.bodies.BODIES), names and trigger."""

    id: str
    name_zh: str
    name_en: str
    every_seconds: int | None = None
    daily_at: time | None = None
    grace_seconds: int = 30

    def describe(self) -> str:
        """The trigger in words."""
        if self.every_seconds is not None:
            return f"every {self.every_seconds} s"
        assert self.daily_at is not None
        return f"daily {self.daily_at.strftime('%H:%M')} (UTC{local_zone().utcoffset(None) // timedelta(hours=1):+d})"


def _every(job_id: str, zh: str, en: str, seconds: int) -> JobSpec:
    return JobSpec(job_id, zh, en, every_seconds=seconds, grace_seconds=max(1, seconds // 2))


def job_specs(settings: Settings | None = None) -> list[JobSpec]:
    """The service's jobs with their triggers from the settings."""
    s = settings or get_settings()
    return [
        _every("notify.dispatch", "发送通知", "Send notifications", s.notify_dispatch_interval_seconds),
        _every("notify.reminders", "评标提醒", "Evaluation reminders", s.reminder_interval_seconds),
        _every("draw.reveal", "开评解封", "Unseal committees at the start", s.reveal_interval_seconds),
        _every("checkin.deadline", "签到截止处理", "Check-in deadline", s.checkin_deadline_interval_seconds),
        JobSpec("stats.daily", "每日统计", "Daily statistics", daily_at=s.daily_stats_time,
                grace_seconds=s.daily_stats_grace_hours * 3600),
        JobSpec("recording.retention", "录像保存期限清理", "Recording retention", daily_at=s.recording_retention_time,
                grace_seconds=s.recording_retention_grace_hours * 3600),
        _every("operations.stale", "清理中断的长操作", "Fail stale operations", s.operation_sweep_interval_seconds),
        _every("ledger.checkpoint", "审计日志检查点签名", "Sign a ledger checkpoint", s.ledger_checkpoint_minutes * 60),
        _every("ledger.witness", "检查点时间戳与见证", "Time-stamp and witness checkpoints", 60),
        _every("ledger.verify", "审计日志校验", "Verify the ledger", s.ledger_verify_minutes * 60),
    ]


def spec_for(job_id: str) -> JobSpec | None:
    """The spec of `job_id`, or None."""
    return next((s for s in job_specs() if s.id == job_id), None)


def trigger_for(spec: JobSpec) -> BaseTrigger:
    """The APScheduler trigger of a spec."""
    if spec.every_seconds is not None:
        return IntervalTrigger(seconds=spec.every_seconds, start_date=ANCHOR, timezone=UTC)
    assert spec.daily_at is not None
    return CronTrigger(hour=spec.daily_at.hour, minute=spec.daily_at.minute, second=0, timezone=local_zone())


def slot_for(spec: JobSpec, now: datetime) -> datetime:
    """The scheduled run time a run at `now` belongs to: the trigger's latest fire time not after `now`."""
    if spec.every_seconds is not None:
        step = timedelta(seconds=spec.every_seconds)
        return ANCHOR + ((now - ANCHOR) // step) * step
    assert spec.daily_at is not None
    local = now.astimezone(local_zone())
    fire = local.replace(hour=spec.daily_at.hour, minute=spec.daily_at.minute, second=0, microsecond=0)
    if fire > local:
        fire -= timedelta(days=1)
    return fire.astimezone(UTC)


def short_error(exc: BaseException) -> str:
    """One line naming the error, without traceback, e-mail addresses or long numbers (ids, phones)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    text = _DIGITS.sub("<number>", _EMAIL.sub("<email>", first))
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def claim(session: Session, *, job_id: str, run_at: datetime, now: datetime) -> JobRun | None:
    """Claim one scheduled run (committed); None when another process has claimed it already."""
    row = JobRun(job_id=job_id, run_at=run_at, started_at=now, runner=RUNNER)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    session.refresh(row)
    return row


def execute(spec: JobSpec, body: JobBody, *, now: datetime, engine: Engine) -> JobRun | None:
    """Claim the run of `spec` at `now`, run `body` and record the outcome; None when claimed elsewhere."""
    run_at = slot_for(spec, now)
    with Session(engine) as session:
        run = claim(session, job_id=spec.id, run_at=run_at, now=now)
    if run is None:
        logger.info("job %s run %s already claimed by another process: skipped", spec.id, run_at.isoformat())
        return None
    status: RunStatus = "ok"
    summary: dict[str, Any] = {}
    error = ""
    with Session(engine) as session:
        try:
            # JSON-safe, so the record can always be written even if a body returns odd values.
            summary = json.loads(json.dumps(body(session, now=now), default=str))
            session.commit()
        except Exception as exc:  # a job must never kill the scheduler thread
            session.rollback()
            status, error = "failed", short_error(exc)
            logger.error("job %s run %s failed: %s", spec.id, run_at.isoformat(), error)
    with Session(engine) as session:
        row = session.get(JobRun, run.id)
        assert row is not None
        row.finished_at, row.status, row.summary, row.error = clock.now(), status, summary, error
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def run_job(job_id: str) -> None:
    """The scheduler's entry point (stored by reference in the job store): run job `job_id` once."""
    spec = spec_for(job_id)
    body = BODIES.get(job_id)
    if spec is None or body is None:
        logger.warning("unknown job %s in the job store: ignored", job_id)
        return
    execute(spec, body, now=clock.now(), engine=db.get_engine())


def build_scheduler(engine: Engine, settings: Settings | None = None) -> BackgroundScheduler:
    """A scheduler (not started) storing its jobs in `engine`'s database."""
    s = settings or get_settings()
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=s.jobs_max_workers)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )


def install_jobs(scheduler: BackgroundScheduler, specs: list[JobSpec]) -> None:
    """Add or update the jobs of `specs` in the scheduler's store (triggers follow the settings)."""
    for spec in specs:
        scheduler.add_job(run_job, trigger=trigger_for(spec), args=[spec.id], id=spec.id, name=spec.name_en,
                          replace_existing=True, misfire_grace_time=spec.grace_seconds)


def start(engine: Engine | None = None, *, paused: bool = False) -> BackgroundScheduler:
    """Start a scheduler on the service's database with the configured jobs."""
    scheduler = build_scheduler(engine or db.get_engine())
    scheduler.start(paused=paused)
    install_jobs(scheduler, job_specs())
    logger.info("job scheduler started (%d jobs)", len(scheduler.get_jobs()))
    return scheduler


def stop(scheduler: BackgroundScheduler) -> None:
    """Shut the scheduler down, letting running jobs finish."""
    if scheduler.running:
        scheduler.shutdown(wait=True)
    logger.info("job scheduler stopped")


def job_overview(session: Session, *, runs: int = 5) -> list[dict[str, Any]]:
    """Every configured job with its next run time (from the shared job store) and its last runs."""
    next_at = {job_id: ts for job_id, ts in session.exec(  # type: ignore[call-overload]
        select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time)).all()}
    out = []
    for spec in job_specs():
        last = session.exec(select(JobRun).where(JobRun.job_id == spec.id)
                            .order_by(col(JobRun.run_at).desc()).limit(runs)).all()
        ts = next_at.get(spec.id)
        out.append({"id": spec.id, "name": spec.name_zh, "name_en": spec.name_en, "trigger": spec.describe(),
                    "scheduled": spec.id in next_at,
                    "next_run_time": datetime.fromtimestamp(ts, UTC) if ts is not None else None,
                    "last_runs": list(last)})
    return out


def sweep_now(engine: Engine) -> None:
    """Run the sweep once now (at service start-up), claimed like a scheduled run of its job."""
    spec = spec_for(JOB_ID)
    if spec is None:
        logger.warning("job %s is not registered: stale operations are not swept", JOB_ID)
        return
    execute(spec, sweep_stale, now=clock.now(), engine=engine)
