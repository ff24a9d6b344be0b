"""The sweep job: fail the long operations whose process stopped (heartbeat older than the stale threshold).

A process that starts never fails operations just because they are unfinished: another live process
may be running them, and its heartbeat (operations.service) keeps them fresh. Only a heartbeat
older than the threshold, or the operations this process itself runs (never), decide. The body runs
through the scheduled-jobs runner (api.jobs.runner), which claims each run once across processes;
at start-up `api.jobs.runner.sweep_now` runs it once more. Operations are not ledgered, so neither is the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, or_, update
from sqlmodel import Session, col, select

from config.settings import get_settings
from operations import service
from operations.models import Operation

logger = logging.getLogger(__name__)
JOB_ID = "operations.stale"
# Chinese first, English after the slash, as one stored message (the console and the API show it as is).
STOPPED = ("服务在此操作进行时停止，操作未完成；可重新开始。"
           " / The service stopped while this operation ran; it did not finish and can be started again.")
# The day-plan draw stores its claim, seats and ledger entry in one transaction (evaluation.service.run_draw),
# so a draw cut short left nothing and stays committed; a drawn one finished before the stop.
STOPPED_BY_KIND = {
    "draw.dayplan": ("服务在抽取进行时停止。若该抽取仍为“已承诺”状态，则未保存任何结果，可再次运行同一抽取。"
                     " / The service stopped while the draw ran. If the draw is still committed, nothing was"
                     " stored and the same committed draw can be run again."),
    "expert.import": ("服务在导入进行时停止，未导入任何专家；请重新上传文件。"
                      " / The service stopped while the import ran; nothing was imported, upload the file again."),
}


def stale_after() -> timedelta:
    """How old a heartbeat makes an operation stale: the setting, but never under 3 heartbeat intervals."""
    s = get_settings()
    return timedelta(seconds=max(float(s.operation_stale_seconds), 3 * s.operation_heartbeat_seconds))


def _stale(cutoff: datetime) -> ColumnElement[bool]:
    # Rows from before heartbeats existed have none: their creation time stands in.
    return and_(col(Operation.status).in_(service.UNFINISHED),
                or_(col(Operation.heartbeat_at) < cutoff,
                    and_(col(Operation.heartbeat_at).is_(None), col(Operation.created_at) < cutoff)))


def message_for(kind: str) -> str:
    """The user-facing message of an operation of `kind` failed because its process stopped."""
    return STOPPED_BY_KIND.get(kind, STOPPED)


def sweep_stale(session: Session, *, now: datetime) -> dict[str, Any]:
    """Fail every queued/running operation whose heartbeat is older than the stale threshold; the ids failed."""
    cutoff = now - stale_after()
    own = service.live_ids()  # alive by definition, even if a beat was delayed
    query = select(Operation.id, Operation.kind, Operation.worker).where(_stale(cutoff))
    if own:
        query = query.where(col(Operation.id).not_in(sorted(own)))
    rows = session.exec(query.order_by(col(Operation.id))).all()
    failed: list[int] = []
    for op_id, kind, worker in rows:
        # The condition again in the update: a beat landing since the select keeps the operation alive.
        result = cast(CursorResult[Any], session.execute(
            update(Operation).where(col(Operation.id) == op_id, _stale(cutoff))
            .values(status="failed", message=message_for(kind), finished_at=now)))
        if result.rowcount == 1 and op_id is not None:
            failed.append(op_id)
            logger.warning("operation %d (%s) failed: its worker %s stopped (no heartbeat since %s)",
                           op_id, kind, worker or "?", cutoff.isoformat())
    session.flush()
    return {"failed": len(failed), "operations": failed}


# Job id -> body; the runner (api.jobs.bodies) registers it with every package's bodies.
BODIES: dict[str, Callable[..., dict[str, Any]]] = {JOB_ID: sweep_stale}
