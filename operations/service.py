"""Start work in a background thread pool and record its progress in the Operation table.

The worker gets a `Progress`; every update is written and committed in its own short session,
so a poller sees it at once whatever transaction the work itself holds open. A failure marks the
operation failed with a message; the traceback goes to the server log only.

Each operation records the process running it (`worker_id()`), and a heartbeat thread of that
process refreshes `heartbeat_at` of its unfinished operations every operation_heartbeat_seconds,
whether or not the work reports progress (a CP-SAT solve may be silent for long). When the process
dies the heartbeat stops, and the sweep (operations.scheduled) fails the operation.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col

from config import clock, db
from config.settings import get_settings
from operations.models import Operation

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_heartbeat: threading.Thread | None = None
_worker: tuple[int, str] | None = None
# Ids of the operations this process has queued or is running (what its heartbeat keeps alive).
_live: set[int] = set()
UNFINISHED = ("queued", "running")


class OperationError(Exception):
    """A failure whose message is meant for the user (stored as the operation's message)."""


class Progress:
    """The handle a worker reports progress through."""

    def __init__(self, operation_id: int) -> None:
        self.operation_id = operation_id
        self.total: int | None = None
        self.done = 0
        self._written = 0

    def _write(self, **values: Any) -> bool:
        """Write `values` while the operation still runs; False once it has ended (e.g. failed as stale)."""
        with Session(db.get_engine()) as session:
            # Conditional, so a worker the sweep took for dead never turns its "failed" back into "done":
            # the user was told it could be started again, and may have.
            changed = cast(CursorResult[Any], session.execute(
                update(Operation).where(col(Operation.id) == self.operation_id,
                                        col(Operation.status).in_(("queued", "running"))).values(**values))).rowcount
            session.commit()
            return changed == 1

    def set_total(self, total: int) -> None:
        """How many units the work has (e.g. rows)."""
        self.total = total
        self._write(total=total)

    def advance(self, units: int = 1) -> None:
        """`units` more done; written about every hundredth of the total, not on every call."""
        self.done += units
        step = max(1, (self.total or 0) // 100)
        if self.done - self._written >= step or self.done == self.total:
            self._written = self.done
            self._write(done=self.done)


Work = Callable[[Progress], dict[str, Any]]


def worker_id() -> str:
    """This process's worker id ("host:pid:random"), new at every process start (and after a fork)."""
    global _worker
    pid = os.getpid()
    with _lock:
        if _worker is None or _worker[0] != pid:
            _worker = (pid, f"{socket.gethostname()[:70]}:{pid}:{secrets.token_hex(4)}")
        return _worker[1]


def live_ids() -> set[int]:
    """The operations this process has queued or is running."""
    with _lock:
        return set(_live)


def beat(*, now: datetime | None = None) -> int:
    """Refresh heartbeat_at of this process's unfinished operations; how many rows were refreshed."""
    ids = live_ids()
    if not ids:
        return 0  # nothing to keep alive: no database round trip
    with Session(db.get_engine()) as session:
        # Only rows still unfinished and still ours: a beat never revives an operation the sweep failed.
        result = cast(CursorResult[Any], session.execute(
            update(Operation).where(col(Operation.id).in_(sorted(ids)), col(Operation.worker) == worker_id(),
                                    col(Operation.status).in_(UNFINISHED))
            .values(heartbeat_at=now or clock.now())))
        session.commit()
        return int(result.rowcount)


def _beat_forever() -> None:
    last = time.monotonic()
    while True:
        # Short naps, so that a changed interval (settings reloaded, tests) applies within a second.
        interval = get_settings().operation_heartbeat_seconds
        time.sleep(min(interval, 1.0))
        if time.monotonic() - last < interval:
            continue
        last = time.monotonic()
        try:
            beat()
        except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat for good
            logger.exception("operation heartbeat failed; retrying")


def _executor() -> ThreadPoolExecutor:
    global _pool, _heartbeat
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=get_settings().operation_workers,
                                       thread_name_prefix="yidi-operation")
        if _heartbeat is None or not _heartbeat.is_alive():
            # Daemon: it holds no transaction open between beats, so dying with the process is harmless.
            _heartbeat = threading.Thread(target=_beat_forever, name="yidi-operation-heartbeat", daemon=True)
            _heartbeat.start()
        return _pool


def _begin(operation_id: int) -> bool:
    """Mark a queued operation running; False when it is no longer queued (the sweep failed it)."""
    with Session(db.get_engine()) as session:
        result = cast(CursorResult[Any], session.execute(
            update(Operation).where(col(Operation.id) == operation_id, col(Operation.status) == "queued")
            .values(status="running", heartbeat_at=clock.now())))
        session.commit()
        return int(result.rowcount) == 1


def _run(operation_id: int, work: Work) -> None:
    try:
        _run_tracked(operation_id, work)
    finally:
        with _lock:
            _live.discard(operation_id)


def _run_tracked(operation_id: int, work: Work) -> None:
    progress = Progress(operation_id)
    try:
        if not _begin(operation_id):
            logger.warning("operation %d is no longer queued (failed as stale?): not run", operation_id)
            return
        report = work(progress)
        if not progress._write(status="done", report=report, finished_at=clock.now(),
                               done=progress.total if progress.total is not None else progress.done):
            logger.warning("operation %d finished after it had been failed as stale; its result is dropped",
                           operation_id)
            return
        logger.info("operation %d done", operation_id)
    except Exception as exc:  # noqa: BLE001 - any failure must end as a failed operation, not a lost thread
        if isinstance(exc, OperationError):
            message = str(exc)[:1000]
            logger.warning("operation %d failed: %s", operation_id, message)
        else:
            message = "the operation failed unexpectedly; the server log has the details"
            logger.exception("operation %d failed", operation_id)
        try:
            progress._write(status="failed", message=message, finished_at=clock.now())
        except Exception:  # noqa: BLE001 - the database itself may be what failed
            logger.exception("operation %d: could not record the failure", operation_id)


def start(session: Session, *, kind: str, created_by: str, work: Work, total: int | None = None) -> Operation:
    """Record a queued operation, commit it, and run `work` in the pool; returns the operation."""
    now = clock.now()
    op = Operation(kind=kind, created_by=created_by, total=total, created_at=now, worker=worker_id(),
                   heartbeat_at=now)
    session.add(op)
    session.commit()
    session.refresh(op)
    assert op.id is not None
    with _lock:
        _live.add(op.id)
    future: Future[None] = _executor().submit(_run, op.id, work)
    del future  # the worker records its own outcome
    logger.info("operation %d (%s) queued", op.id, kind)
    return op


def get(session: Session, *, operation_id: int) -> Operation | None:
    """The operation with this id, or None."""
    return session.get(Operation, operation_id)
