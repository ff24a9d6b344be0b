"""Ledger writes off the event loop: one worker thread, its own database session per write.

The recorder closes segments on its encoding threads and the hub runs on the event loop; neither
may wait for the ledger's chain lock, so both hand their facts to this writer, which is safe to
call from any thread and keeps the order in which facts were handed over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from sqlmodel import Session

from config import db

logger = logging.getLogger(__name__)


class AuditWriter:
    """Runs ledger writes `write(session)` in order on one thread, committing each."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="av-audit")
        self._closed = False

    def submit(self, what: str, write: Callable[[Session], object]) -> Future[None] | None:
        """Queue one write (thread-safe); None once the writer is closed."""
        if self._closed:
            logger.warning("A/V ledger writer closed: %s not written", what)
            return None
        try:
            return self._pool.submit(self._run, what, write)
        except RuntimeError:  # closed between the check and the submit
            logger.warning("A/V ledger writer closed: %s not written", what)
            return None

    @staticmethod
    def _run(what: str, write: Callable[[Session], object]) -> None:
        try:
            with Session(db.get_engine()) as session:
                write(session)
                session.commit()
        except Exception:
            # A lost audit fact must be loud, but must not stop the recording or later writes.
            logger.exception("could not write %s to the ledger", what)

    def close(self) -> None:
        """Finish the queued writes and stop the thread."""
        self._closed = True
        self._pool.shutdown(wait=True)


def wait_for_segment(done: Future[None] | None, *, room_code: str, index: int, timeout: float) -> None:
    """Wait (on the recorder's thread) until a segment's ledger entry is written: only then is it listed.

    A segment in the playlist is then always in the ledger, so a crash cannot leave a listed
    segment that the ledger does not vouch for.
    """
    if done is not None:
        try:
            done.result(timeout=timeout)
        except Exception:  # a slow database must not stop the recording; the verify shows the gap
            logger.warning("room %s: segment %s not yet ledgered", room_code, index)
