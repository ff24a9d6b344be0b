"""Signed checkpoints of the ledger: made, time-stamped, and required before a seed is revealed.

A checkpoint is signed only over a tree that extends the last checkpoint: the stored subtrees covering
the last checkpoint's size must give its root, and the entries added since are re-read, their chain
links checked and their leaves recomputed from the rows (not taken from `ledger_node`). A rewritten
history therefore is never signed: `make` raises `CheckpointRefused` naming the checkpoint it contradicts.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from pathlib import Path

from cryptography import x509
from sqlmodel import Session, col, select

from config.settings import Settings, get_settings
from ledger import merkle, note, signing, tree, tsa
from ledger.lock import lock_chain
from ledger.models import LedgerCheckpoint, LedgerEntry, LedgerError, entry_hash

logger = logging.getLogger(__name__)
REASONS = ("schedule", "draw.commit", "reveal", "evidence", "manual")


class CheckpointRefused(LedgerError):
    """The ledger does not extend its last checkpoint: nothing is signed (the message says where it breaks)."""


class NotWitnessed(LedgerError):
    """The checkpoint that must be time-stamped first is not yet (the TSA is down or refused)."""


def describe(cp: LedgerCheckpoint) -> str:
    """`checkpoint #12 (size 340, signed 2026-12-07T10:00:00+00:00)`."""
    return f"checkpoint #{cp.id} (size {cp.size}, signed {cp.created_at.isoformat()})"


def token(cp: LedgerCheckpoint) -> bytes | None:
    """The checkpoint's DER time-stamp response, or None before it is stamped."""
    return base64.b64decode(cp.tsa_token) if cp.tsa_token else None


def latest(session: Session) -> LedgerCheckpoint | None:
    """The checkpoint of the largest size (the newest among equals)."""
    return session.exec(select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.size).desc(),
                                                          col(LedgerCheckpoint.id).desc()).limit(1)).first()


def opened(cp: LedgerCheckpoint, known: list[note.Verifier], origin: str) -> note.Checkpoint:
    """The signed body of a stored checkpoint, checked against its row; CheckpointRefused when they differ."""
    try:
        body, _ = note.open_checkpoint(cp.note, known, origin)
    except note.NoteError as exc:
        raise CheckpointRefused(f"{describe(cp)}: {exc}") from None
    if body.size != cp.size or body.root.hex() != cp.root_hash:
        raise CheckpointRefused(f"{describe(cp)}: its stored size or root differs from its signed note")
    return body


def _extend(session: Session, last: LedgerCheckpoint | None, size: int, known: list[note.Verifier],
            origin: str) -> bytes:
    """The root at `size`, from the last checkpoint's authenticated subtrees and the entries since."""
    start = 0
    reader = tree.NodeReader(session)
    cr = merkle.CompactRange()
    if last is not None:
        body = opened(last, known, origin)
        start = last.size
        cr = merkle.CompactRange.from_getter(reader.get, start)
        if cr.root() != body.root:
            raise CheckpointRefused(f"the ledger contradicts {describe(last)}: its first {start} entries no longer "
                                    "hash to the signed root (rewritten, reordered or replaced)")
    prev = None
    if start:
        prev = session.exec(select(LedgerEntry.hash).where(LedgerEntry.seq == start)).first()
    reader.prefetch_range(0, start, size)
    expected = start + 1
    for row in tree.entry_rows(session, after=start, upto=size):
        if row.seq != expected or (prev is not None and row.prev_hash != prev):
            raise CheckpointRefused(f"entry seq {row.seq} does not follow seq {expected - 1} (deleted or reordered "
                                    "entries): `yidi ledger verify` lists the breaks")
        leaf = tree.leaf_of(row)
        if row.hash != entry_hash(seq=row.seq, ts=row.ts, actor=row.actor, kind=row.kind, subject=row.subject,
                                  payload=row.payload, prev_hash=row.prev_hash) \
                or reader.cache.get((0, row.seq - 1)) != leaf:
            raise CheckpointRefused(f"entry seq {row.seq} was edited after it was appended")
        cr.append(leaf)
        prev, expected = row.hash, expected + 1
    if cr.size != size:
        raise CheckpointRefused(f"the ledger holds {cr.size} entries where its head says {size}")
    return cr.root()


def make(session: Session, *, reason: str, now: datetime, force: bool = False) -> LedgerCheckpoint:
    """Sign a checkpoint of the whole ledger now (flushed; the caller commits); the last one if unchanged.

    Holds the chain lock, so no entry lands between the size read and the signature.
    """
    if reason not in REASONS:
        raise LedgerError(f"reason must be one of {', '.join(REASONS)}")
    s = get_settings()
    lock_chain(session)
    size = session.exec(select(LedgerEntry.seq).order_by(col(LedgerEntry.seq).desc()).limit(1)).first() or 0
    last = latest(session)
    if last is not None and last.size > size:
        raise CheckpointRefused(f"{describe(last)} covers {last.size} entries but the ledger holds {size}: entries "
                                f"{size + 1}..{last.size} were deleted")
    if last is not None and last.size == size and not force:
        return last
    sig = signing.signer(s)
    known = signing.verifiers(s)
    root = _extend(session, last, size, known, s.ledger_origin)
    text = note.Checkpoint(s.ledger_origin, size, root, now).text()
    signed = note.sign_note(text, sig.name, sig.sign, sig.public_key())
    cp = LedgerCheckpoint(size=size, root_hash=root.hex(), created_at=now, reason=reason, note=signed,
                          key_id=note.key_hash(sig.name, sig.public_key()).hex())
    session.add(cp)
    session.flush()
    logger.info("ledger checkpoint %s signed: size %d (%s)", cp.id, size, reason)
    return cp


def tsa_roots(settings: Settings | None = None) -> list[x509.Certificate]:
    """The TSA's CA certificates from `ledger_tsa_ca_file` (empty without one)."""
    s = settings or get_settings()
    if s.ledger_tsa_ca_file is None or not str(s.ledger_tsa_ca_file):
        return []
    try:
        return tsa.load_certificates(Path(s.ledger_tsa_ca_file).read_bytes())
    except OSError as exc:
        raise tsa.TsaError(f"ledger_tsa_ca_file {s.ledger_tsa_ca_file}: {exc.strerror}") from None


def stamp(session: Session, cp: LedgerCheckpoint) -> bool:
    """Ask the TSA to time-stamp the checkpoint's note; True when it holds a token (flushed)."""
    s = get_settings()
    if cp.tsa_token is not None:
        return True
    if not s.ledger_tsa_url:
        return False
    cp.tsa_attempts += 1
    try:
        got = tsa.request_stamp(cp.note.encode("utf-8"), url=s.ledger_tsa_url, timeout=s.ledger_tsa_timeout_seconds,
                                roots=tsa_roots(s))
    except tsa.TsaError as exc:
        cp.tsa_error = str(exc)[:300]
        logger.warning("checkpoint %s not time-stamped (attempt %d): %s", cp.id, cp.tsa_attempts, cp.tsa_error)
    else:
        cp.tsa_token = base64.b64encode(got.token).decode("ascii")
        cp.tsa_time, cp.tsa_error = got.time, None
    session.add(cp)
    session.flush()
    return cp.tsa_token is not None


def stamp_pending(session: Session, *, limit: int = 20) -> dict[str, int]:
    """Time-stamp the checkpoints still waiting (oldest first); stops at the first failure."""
    if not get_settings().ledger_tsa_url:
        return {"stamped": 0, "waiting": 0}
    waiting = session.exec(select(LedgerCheckpoint).where(col(LedgerCheckpoint.tsa_token).is_(None))
                           .order_by(col(LedgerCheckpoint.id)).limit(limit)).all()
    done = 0
    for cp in waiting:
        if not stamp(session, cp):
            break
        done += 1
    return {"stamped": done, "waiting": len(waiting) - done}


def covering(session: Session, seq: int) -> LedgerCheckpoint | None:
    """The first checkpoint that covers entry `seq`."""
    return session.exec(select(LedgerCheckpoint).where(col(LedgerCheckpoint.size) >= seq)
                        .order_by(col(LedgerCheckpoint.size), col(LedgerCheckpoint.id)).limit(1)).first()


def require_witnessed(session: Session, *, seq: int, now: datetime) -> LedgerCheckpoint:
    """A checkpoint covering `seq` that the TSA has stamped (when one is configured); NotWitnessed if not yet."""
    s = get_settings()
    cp = covering(session, seq) or make(session, reason="reveal", now=now)
    if s.ledger_tsa_url and not stamp(session, cp):
        raise NotWitnessed(f"{describe(cp)} holds entry {seq} but is not time-stamped yet ({cp.tsa_error}); it is "
                           "retried every minute and the seed is revealed once the time-stamp authority answers")
    return cp
