"""The chain's write lock: appends and checkpoints are serialised by it (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, col, select

from ledger.models import LedgerEntry

# Key of the PostgreSQL transaction-level advisory lock serialising appends: an arbitrary fixed
# bigint that no other part of the service may use for its own advisory locks.
PG_LOCK_KEY = 0x5D2C1E0F3A7B4C19


def lock_chain(session: Session) -> None:
    """Take the chain's write lock for the rest of the caller's transaction."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    elif dialect == "sqlite":
        # A no-op write makes SQLite take its single writer lock now (waiting out the busy
        # timeout), like BEGIN IMMEDIATE but also valid inside an already open transaction;
        # the head read below then cannot be overtaken by another writer.
        session.execute(text("UPDATE ledger_entry SET seq = seq WHERE 0 = 1"))
    else:
        # Other databases: lock the head row; the unique seq still refuses any fork.
        session.execute(
            select(LedgerEntry.id).order_by(col(LedgerEntry.seq).desc()).limit(1).with_for_update()
        )
