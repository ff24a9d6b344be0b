"""Append to, read and verify the audit ledger (SQLite and PostgreSQL).

Payloads are public audit facts: never put secrets or biometric data in them (see ledger.models).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from config.settings import get_settings
from ledger import checkpoints, merkle, note, signing, tree
from ledger.lock import lock_chain
from ledger.models import (
    GENESIS_HASH,
    MAX_ACTOR,
    MAX_KIND,
    MAX_SUBJECT,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerError,
    canonical_payload,
    entry_bytes,
    entry_hash,
    format_ts,
    parse_ts,
)

logger = logging.getLogger(__name__)

MAX_LIMIT = 1000
MAX_PROBLEMS = 100


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a chain verification; `problems` name the seq numbers concerned."""

    ok: bool
    entries: int
    head: str | None
    problems: list[str] = field(default_factory=list)
    checkpoints: int = 0  # signed checkpoints the log was checked against


def _check_text(name: str, value: str, max_len: int) -> None:
    """Reject empty, over-long or control-character field values (same rule on both databases)."""
    if not isinstance(value, str) or not value:
        raise LedgerError(f"{name} must be a non-empty string")
    if len(value) > max_len:
        raise LedgerError(f"{name} is longer than {max_len} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise LedgerError(f"{name} must not contain control characters")


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

    lock_chain(session)
    last = session.execute(
        select(LedgerEntry.seq, LedgerEntry.hash).order_by(col(LedgerEntry.seq).desc()).limit(1)
    ).first()
    seq, prev_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    data = entry_bytes(seq=seq, ts=ts_text, actor=actor, kind=kind, subject=subject, payload=payload_text,
                       prev_hash=prev_hash)
    digest = hashlib.sha256(data).hexdigest()
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
    tree.add_leaf(session, index=seq - 1, leaf=merkle.leaf_hash(data))
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


def row_problems(row: Any, expected_seq: int, prev_hash: str) -> list[str]:
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


def checkpoint_targets(session: Session,
                       given: Sequence[str] = ()) -> tuple[list[tuple[str, int, bytes]], list[str]]:
    """The checkpoints to check the log against (stored, then given), and the problems of their signatures."""
    s = get_settings()
    problems: list[str] = []
    try:
        known = signing.verifiers(s)
    except signing.SigningKeyError as exc:
        return [], [f"the checkpoint keys cannot be read ({exc}): no checkpoint was checked"]
    targets: list[tuple[str, int, bytes]] = []
    for cp in session.exec(select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.size), col(LedgerCheckpoint.id))):
        try:
            body = checkpoints.opened(cp, known, s.ledger_origin)
        except checkpoints.CheckpointRefused as exc:
            problems.append(f"{exc} (forged or altered in the database)")
            continue
        targets.append((checkpoints.describe(cp), body.size, body.root))
    for i, given_note in enumerate(given, 1):
        try:
            body, _ = note.open_checkpoint(given_note, known, s.ledger_origin)
        except note.NoteError as exc:
            problems.append(f"given checkpoint {i}: {exc}")
            continue
        when = body.time.isoformat() if body.time else "no time"
        targets.append((f"the given checkpoint {i} (size {body.size}, signed {when})", body.size, body.root))
    return sorted(targets, key=lambda t: t[1]), problems


def verify(session: Session, *, expect_head: str | None = None, chunk_size: int = 1000,
           given: Sequence[str] = ()) -> VerifyReport:
    """Re-hash the whole chain and its Merkle tree in seq order, streaming; check it against every checkpoint.

    Every stored checkpoint (and every signed checkpoint note in `given`, e.g. from a witness's mailbox)
    must verify with the published keys, and the log's first `size` entries must hash to its root: a
    re-chained edit, a deleted tail, an emptied or replaced log all contradict the checkpoints signed
    before. The first checkpoint contradicted is named first. With `expect_head` (a head hash published
    earlier) the chain must still contain that entry.
    """
    if chunk_size < 1:
        raise LedgerError("chunk_size must be at least 1")
    targets, cp_problems = checkpoint_targets(session, given)
    contradicted: list[str] = []
    problems: list[str] = []
    extra = 0
    count = 0
    last_seq = 0
    prev_hash = GENESIS_HASH
    head_hash: str | None = None
    seen_expected = False
    cr = merkle.CompactRange()
    t = 0

    def check_targets() -> None:
        nonlocal t
        while t < len(targets) and targets[t][1] == cr.size:
            label, size, root = targets[t]
            if cr.root() != root:
                contradicted.append(f"the log contradicts {label}: its first {size} entries no longer hash to the "
                                    "signed root (edited and re-chained, reordered or replaced since)")
            t += 1

    check_targets()
    for row in tree.entry_rows(session, chunk=chunk_size):
        count += 1
        found = row_problems(row, last_seq + 1, prev_hash)
        room = MAX_PROBLEMS - len(problems)
        problems.extend(found[:room])
        extra += max(0, len(found) - room)
        seen_expected = seen_expected or row.hash == expect_head
        last_seq, prev_hash, head_hash = row.seq, row.hash, row.hash
        cr.append(tree.leaf_of(row))
        check_targets()
    for label, size, _root in targets[t:]:
        contradicted.append(f"{label} covers {size} entries but the log holds {count}: entries {count + 1}..{size} "
                            "were deleted")
    if expect_head is not None and not seen_expected:
        problems.append(
            f"published head {expect_head} is not in the chain (last seq {last_seq}): "
            "the tail was truncated or the chain rewritten"
        )
    if extra:
        problems.append(f"… and {extra} more problems")
    problems = contradicted + cp_problems + problems
    report = VerifyReport(ok=not problems, entries=count, head=head_hash, problems=problems,
                          checkpoints=len(targets))
    if not report.ok:
        logger.warning("ledger verification failed: %d problems, first: %s", len(problems), problems[0])
    return report


def verify_command(session: Session, *, expect_head: str | None = None, given: Sequence[str] = ()) -> tuple[int, str]:
    """Run `verify` for the CLI: (exit code 0 or 1, a one-paragraph human message)."""
    report = verify(session, expect_head=expect_head, given=given)
    if report.ok:
        if report.entries == 0:
            return 0, "Audit ledger OK: the ledger is empty and no checkpoint says otherwise."
        checked = " and contains the published head" if expect_head else ""
        return 0, (
            f"Audit ledger OK: {report.entries} entries (seq 1..{report.entries}) chain correctly"
            f"{checked} and agree with {report.checkpoints} signed checkpoint(s); head hash {report.head}."
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
