"""Append to, read and verify the audit ledger (SQLite and PostgreSQL).

Payloads are public audit facts: never put secrets or biometric data in them (see ledger.models).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, text, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ledger.models import (
    GENESIS_HASH,
    MAX_ACTOR,
    MAX_KIND,
    MAX_SUBJECT,
    LedgerEntry,
    LedgerError,
    canonical_payload,
    entry_hash,
    format_ts,
    parse_ts,
)

logger = logging.getLogger(__name__)

# Key of the PostgreSQL transaction-level advisory lock serialising appends: an arbitrary fixed
# bigint that no other part of the service may use for its own advisory locks.
PG_LOCK_KEY = 0x5D2C1E0F3A7B4C19
MAX_LIMIT = 1000
MAX_PROBLEMS = 100


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a chain verification; `problems` name the seq numbers concerned."""

    ok: bool
    entries: int
    head: str | None
    problems: list[str] = field(default_factory=list)


def _check_text(name: str, value: str, max_len: int) -> None:
    """Reject empty, over-long or control-character field values (same rule on both databases)."""
    if not isinstance(value, str) or not value:
        raise LedgerError(f"{name} must be a non-empty string")
    if len(value) > max_len:
        raise LedgerError(f"{name} is longer than {max_len} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise LedgerError(f"{name} must not contain control characters")


def _lock_chain(session: Session) -> None:
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


def append(
    session: Session,
    *,
    kind: str,
    subject: str,
    payload: dict[str, Any],
    actor: str = "system",
    ts: datetime | None = None,
) -> LedgerEntry:
    """Append one entry in the caller's transaction (flushed, not committed) and return it.

    The chain stays locked until the caller commits or rolls back, so commit promptly. A
    concurrent fork is impossible: appends are serialised by a lock, and `seq` and `hash` are
    unique, so a writer that somehow bypassed the lock fails with IntegrityError instead.
    Never pass secrets or biometric data in `payload`; bytes values raise LedgerError.
    """
    _check_text("kind", kind, MAX_KIND)
    _check_text("subject", subject, MAX_SUBJECT)
    _check_text("actor", actor, MAX_ACTOR)
    payload_text = canonical_payload(payload)
    ts_text = format_ts(ts if ts is not None else datetime.now(UTC))

    _lock_chain(session)
    last = session.execute(
        select(LedgerEntry.seq, LedgerEntry.hash).order_by(col(LedgerEntry.seq).desc()).limit(1)
    ).first()
    seq, prev_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    digest = entry_hash(
        seq=seq,
        ts=ts_text,
        actor=actor,
        kind=kind,
        subject=subject,
        payload=payload_text,
        prev_hash=prev_hash,
    )
    entry = LedgerEntry(
        seq=seq,
        ts=parse_ts(ts_text),  # normalised to UTC, as it reads back
        actor=actor,
        kind=kind,
        subject=subject,
        payload=payload_text,
        prev_hash=prev_hash,
        hash=digest,
    )
    session.add(entry)
    session.flush()
    logger.debug("ledger append seq=%d kind=%s subject=%s", seq, kind, subject)
    return entry


def head(session: Session) -> LedgerEntry | None:
    """The last entry of the chain (its hash is the value to publish), or None when empty."""
    return session.exec(select(LedgerEntry).order_by(col(LedgerEntry.seq).desc()).limit(1)).first()


def entries(
    session: Session,
    *,
    kind_prefix: str | None = None,
    subject: str | None = None,
    limit: int = 100,
    after_seq: int = 0,
) -> list[LedgerEntry]:
    """Entries with seq > after_seq in seq order, filtered by kind prefix and subject (limit ≤ 1000)."""
    if limit < 1:
        raise LedgerError("limit must be at least 1")
    stmt = select(LedgerEntry).where(col(LedgerEntry.seq) > after_seq)
    if kind_prefix:
        stmt = stmt.where(col(LedgerEntry.kind).startswith(kind_prefix, autoescape=True))
    if subject is not None:
        stmt = stmt.where(LedgerEntry.subject == subject)
    stmt = stmt.order_by(col(LedgerEntry.seq)).limit(min(limit, MAX_LIMIT))
    return list(session.exec(stmt).all())


def _row_problems(row: Any, expected_seq: int, prev_hash: str) -> list[str]:
    """What is wrong with one row given the row before it (empty when it chains correctly)."""
    seq = row.seq
    found: list[str] = []
    if seq != expected_seq:
        if seq > expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
            found.append(f"seq {seq}: gap, entries {missing} missing (deleted?)")
        else:
            found.append(f"seq {seq}: out of order, expected seq {expected_seq}")
    if row.prev_hash != prev_hash:
        found.append(f"seq {seq}: prev_hash does not match the entry before it (removed or reordered)")
    recomputed = entry_hash(
        seq=seq,
        ts=row.ts,
        actor=row.actor,
        kind=row.kind,
        subject=row.subject,
        payload=row.payload,
        prev_hash=row.prev_hash,
    )
    if recomputed != row.hash:
        found.append(f"seq {seq}: hash mismatch, the entry was edited")
    else:
        try:
            canonical = canonical_payload(json.loads(row.payload))
        except (ValueError, LedgerError):
            canonical = None
        if canonical != row.payload:
            found.append(f"seq {seq}: payload is not a canonical JSON object")
    return found


def verify(session: Session, *, expect_head: str | None = None, chunk_size: int = 1000) -> VerifyReport:
    """Re-hash the whole chain in seq order, streaming in chunks; report every break found.

    With `expect_head` (a head hash published earlier) the chain must still contain that entry,
    which detects a truncated tail or a rewritten chain.
    """
    if chunk_size < 1:
        raise LedgerError("chunk_size must be at least 1")
    # The timestamp is read as its stored text: the hash covers those exact characters.
    cols = (
        col(LedgerEntry.seq),
        type_coerce(col(LedgerEntry.ts), String()).label("ts"),
        col(LedgerEntry.actor),
        col(LedgerEntry.kind),
        col(LedgerEntry.subject),
        col(LedgerEntry.payload),
        col(LedgerEntry.prev_hash),
        col(LedgerEntry.hash),
    )
    problems: list[str] = []
    extra = 0
    count = 0
    last_seq = 0
    prev_hash = GENESIS_HASH
    head_hash: str | None = None
    seen_expected = False
    while True:
        stmt = sa_select(*cols).where(col(LedgerEntry.seq) > last_seq)
        rows = session.execute(stmt.order_by(col(LedgerEntry.seq)).limit(chunk_size)).all()
        for row in rows:
            count += 1
            found = _row_problems(row, last_seq + 1, prev_hash)
            room = MAX_PROBLEMS - len(problems)
            problems.extend(found[:room])
            extra += max(0, len(found) - room)
            seen_expected = seen_expected or row.hash == expect_head
            last_seq, prev_hash, head_hash = row.seq, row.hash, row.hash
        if len(rows) < chunk_size:
            break
    if expect_head is not None and not seen_expected:
        problems.append(
            f"published head {expect_head} is not in the chain (last seq {last_seq}): "
            "the tail was truncated or the chain rewritten"
        )
    if extra:
        problems.append(f"… and {extra} more problems")
    report = VerifyReport(ok=not problems, entries=count, head=head_hash, problems=problems)
    if not report.ok:
        logger.warning("ledger verification failed: %d problems, first: %s", len(problems), problems[0])
    return report


def verify_command(session: Session, *, expect_head: str | None = None) -> tuple[int, str]:
    """Run `verify` for the CLI: (exit code 0 or 1, a one-paragraph human message)."""
    report = verify(session, expect_head=expect_head)
    if report.ok:
        if report.entries == 0:
            return 0, "Audit ledger OK: the ledger is empty."
        checked = " and contains the published head" if expect_head else ""
        return 0, (
            f"Audit ledger OK: {report.entries} entries (seq 1..{report.entries}) chain correctly"
            f"{checked}; head hash {report.head}. Publish this head hash so that a later "
            "truncation can be detected with --expect-head."
        )
    shown = report.problems[:10]
    more = len(report.problems) - len(shown)
    tail = f"; and {more} more" if more else ""
    return 1, (
        f"Audit ledger FAILED: {len(report.problems)} problem(s) in {report.entries} entries read: "
        + "; ".join(shown)
        + tail
        + ". The ledger has been altered since it was written; preserve the database for investigation."
    )
