"""Start work in a background thread pool and record its progress in the Operation table.

The worker gets a `Progress`; every update is written and committed in its own short session,
so a poller sees it at once whatever transaction the work itself holds open. A failure marks the
operation failed with a message; the traceback goes to the server log only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlmodel import Session

from api.operations.models import Operation
from config import clock, db
from config.settings import get_settings

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


class OperationError(Exception):
    """A failure whose message is meant for the user (stored as the operation's message)."""


class Progress:
    """The handle a worker reports progress through."""

    def __init__(self, operation_id: int) -> None:
        self.operation_id = operation_id
        self.total: int | None = None
        self.done = 0
        self._written = 0

    def _write(self, **values: Any) -> None:
        with Session(db.get_engine()) as session:
            op = session.get(Operation, self.operation_id)
            if op is None:
                return
            for key, value in values.items():
                setattr(op, key, value)
            session.add(op)
            session.commit()

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


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=get_settings().operation_workers,
                                       thread_name_prefix="yidi-operation")
        return _pool


def _run(operation_id: int, work: Work) -> None:
    progress = Progress(operation_id)
    try:
        progress._write(status="running")
        report = work(progress)
        progress._write(status="done", report=report, finished_at=clock.now(),
                        done=progress.total if progress.total is not None else progress.done)
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
    op = Operation(kind=kind, created_by=created_by, total=total, created_at=clock.now())
    session.add(op)
    session.commit()
    session.refresh(op)
    assert op.id is not None
    future: Future[None] = _executor().submit(_run, op.id, work)
    del future  # the worker records its own outcome
    logger.info("operation %d (%s) queued", op.id, kind)
    return op


def get(session: Session, *, operation_id: int) -> Operation | None:
    """The operation with this id, or None."""
    return session.get(Operation, operation_id)
