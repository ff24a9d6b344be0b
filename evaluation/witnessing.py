"""The draw's witnesses in the ledger: a checkpoint signed on every commitment, and the seed held back until
the checkpoint holding its commitment is time-stamped (when the deployment has a time-stamp authority)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

import ledger
from ledger import checkpoints
from ledger.models import LedgerError

logger = logging.getLogger(__name__)


def checkpoint_commitment(session: Session, *, now: datetime) -> None:
    """After a commitment is durable: sign a checkpoint holding it and try to time-stamp it (commits).

    Its own transactions, after the commitment's: a ledger that can no longer be checkpointed (rewritten)
    must not undo the commitment; it blocks the seed's reveal instead (`seed_hold`).
    """
    try:
        cp = checkpoints.make(session, reason="draw.commit", now=now)
        session.commit()
        checkpoints.stamp(session, cp)
        session.commit()
    except LedgerError as exc:
        session.rollback()
        logger.error("no checkpoint after a draw commitment: %s", exc)


def seed_hold(session: Session, *, draw_id: int, now: datetime) -> str | None:
    """Why the draw's seed may not be revealed yet, or None: a checkpoint covering its commitment is witnessed.

    Before every seed reveal a checkpoint is signed (so the reveal's own history is fixed first).
    """
    commits = ledger.entries(session, kind_prefix="draw.commit", subject=f"draw:{draw_id}", limit=1)
    if not commits:
        return f"draw {draw_id} has no commitment in the ledger"
    try:
        checkpoints.make(session, reason="reveal", now=now)
        session.commit()  # the chain lock is released before the time-stamp authority is asked
        checkpoints.require_witnessed(session, seq=commits[0].seq, now=now)
        session.commit()
    except checkpoints.NotWitnessed as exc:
        session.commit()  # keep the checkpoint and the attempt count
        return str(exc)
    except LedgerError as exc:
        session.rollback()
        return f"the ledger cannot be checkpointed ({exc}); the seed stays sealed until it is investigated"
    return None
