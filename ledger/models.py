"""The audit ledger's table and its hash encoding: an append-only SHA-256 chain.

Each entry's `hash` is the SHA-256 (hex) of the UTF-8 bytes of the JSON array

    [seq, ts, actor, kind, subject, payload, prev_hash]

written with no white space (separators "," and ":") and non-ASCII characters kept as UTF-8
(`json.dumps(..., ensure_ascii=False, separators=(",", ":"))`), where `ts` is the UTC timestamp
text `YYYY-MM-DDTHH:MM:SS.ffffffZ` exactly as stored, `payload` is the canonical JSON text of the
payload object (keys sorted, no white space, UTF-8) as a JSON string, and `prev_hash` is the hash of
the entry before (64 zeros for the first). Anyone holding the rows can recompute the chain.

The entries are also the leaves of an RFC 9162 Merkle tree (leaf i = the entry of seq i + 1, its leaf
hash SHA-256(0x00 || that same encoding)): `LedgerNode` stores every complete subtree, so roots and
proofs cost O(log n) reads, and `LedgerCheckpoint` the signed checkpoints of its heads (ledger.checkpoints).

Payloads are PUBLIC audit facts: they must never hold secrets (keys, passwords, unrevealed seeds,
sealed committee lists) nor biometric data (face images, templates, encodings). Byte values are
rejected outright, since binary blobs are how such data usually travels.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

GENESIS_HASH = "0" * 64
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MAX_ACTOR = 128
MAX_KIND = 64
MAX_SUBJECT = 128


class LedgerError(ValueError):
    """An entry the ledger refuses to record (bad payload, bad field, naive timestamp)."""


def format_ts(ts: datetime) -> str:
    """The stored and hashed text of an aware timestamp: UTC, microseconds, `Z`."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise LedgerError("ledger timestamps must be timezone-aware")
    return ts.astimezone(UTC).strftime(TS_FORMAT)


def parse_ts(text: str) -> datetime:
    """The aware UTC datetime of a stored timestamp text."""
    return datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


class UtcTimestamp(TypeDecorator[datetime]):
    """An aware datetime stored as fixed-width UTC ISO-8601 text.

    Text rather than a native timestamp type so that the value hashed is byte-identical on SQLite
    and PostgreSQL, and sorts chronologically as text.
    """

    impl = String
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(length=27)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        """Encode an aware datetime (None passes through)."""
        return None if value is None else format_ts(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        """Decode the stored text (None passes through)."""
        return None if value is None else parse_ts(value)


def _check_json(value: Any, path: str) -> None:
    """Reject what canonical JSON cannot carry unambiguously, naming the offending path."""
    if isinstance(value, bytes | bytearray | memoryview):
        raise LedgerError(f"{path}: bytes are not allowed in ledger payloads (no secrets or biometrics)")
    if isinstance(value, dict):
        for key, item in value.items():
            # Non-string keys would be coerced by json ({1: x} and {"1": x} would hash alike).
            if not isinstance(key, str):
                raise LedgerError(f"{path}: payload keys must be strings, got {type(key).__name__}")
            _check_json(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise LedgerError(f"{path}: non-finite numbers are not JSON")
    elif value is not None and not isinstance(value, str | int):
        raise LedgerError(f"{path}: {type(value).__name__} is not a JSON value; convert it first")


def canonical_payload(payload: dict[str, Any]) -> str:
    """The canonical JSON text of a payload object: keys sorted, no white space."""
    if not isinstance(payload, dict):
        raise LedgerError("a ledger payload must be a JSON object (dict)")
    _check_json(payload, "$")
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LedgerError("payload text is not valid Unicode (lone surrogate)") from exc
    return text


def entry_bytes(
    *, seq: int, ts: str, actor: str, kind: str, subject: str, payload: str, prev_hash: str
) -> bytes:
    """The canonical encoding of one entry (see the module docstring): what its hash and its Merkle leaf cover."""
    fields = [seq, ts, actor, kind, subject, payload, prev_hash]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(
    *, seq: int, ts: str, actor: str, kind: str, subject: str, payload: str, prev_hash: str
) -> str:
    """SHA-256 hex of the canonical encoding of one entry (see the module docstring)."""
    data = entry_bytes(seq=seq, ts=ts, actor=actor, kind=kind, subject=subject, payload=payload, prev_hash=prev_hash)
    return hashlib.sha256(data).hexdigest()


class LedgerEntryBase(SQLModel):
    """Fields of one ledger entry."""

    seq: int = Field(unique=True, index=True, description="1, 2, 3, … with no gaps")
    ts: datetime = Field(sa_type=UtcTimestamp, description="aware UTC time of the event")
    actor: str = Field(max_length=MAX_ACTOR, description='who acted: "system", "cli", "user:alice"')
    kind: str = Field(max_length=MAX_KIND, index=True, description='event kind, e.g. "draw.commit"')
    subject: str = Field(max_length=MAX_SUBJECT, index=True, description="project, draw, room, … id")
    payload: str = Field(sa_type=Text, description="canonical JSON object text (keys sorted)")
    prev_hash: str = Field(min_length=64, max_length=64, description="hash of the previous entry")
    hash: str = Field(min_length=64, max_length=64, unique=True, description="SHA-256 of this entry")


class LedgerEntry(LedgerEntryBase, table=True):
    """One row of the append-only audit chain; write it only through `ledger.service.append`."""

    __tablename__ = "ledger_entry"
    __table_args__ = (CheckConstraint("seq >= 1", name="ck_ledger_entry_seq_positive"),)

    id: int | None = Field(default=None, primary_key=True)


class LedgerEntryPublic(LedgerEntryBase):
    """A ledger entry as published: every field needed to recompute its hash."""

    id: int


class LedgerNode(SQLModel, table=True):
    """One complete subtree of the Merkle tree over the entries: 2**level leaves from index * 2**level.

    A cache for proofs, never trusted on its own: checkpoints are signed over leaves recomputed from the
    entries, and `verify` recomputes the whole tree.
    """

    __tablename__ = "ledger_node"

    level: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: str = Field(sa_type=String(64), description="hex SHA-256 of the subtree (RFC 9162)")


class LedgerCheckpointBase(SQLModel):
    """A signed checkpoint of the ledger: its size and root, the signed note, and its RFC 3161 time-stamp."""

    size: int = Field(ge=0, index=True, description="entries covered: seq 1..size")
    root_hash: str = Field(sa_type=String(64), description="hex Merkle root of the first `size` entries")
    created_at: datetime = Field(sa_type=UtcTimestamp, description="when it was signed")
    reason: str = Field(sa_type=String(32), description="schedule, draw.commit, reveal, evidence, manual")
    note: str = Field(sa_type=Text, description="the C2SP signed note (tlog-checkpoint body and signature)")
    key_id: str = Field(sa_type=String(8), description="hex key hash of the signing key")
    tsa_time: datetime | None = Field(default=None, sa_type=UtcTimestamp, description="the token's genTime")
    tsa_error: str | None = Field(default=None, sa_type=String(300), description="why the last stamp failed")
    tsa_attempts: int = Field(default=0, ge=0)
    witnessed_at: datetime | None = Field(default=None, sa_type=UtcTimestamp,
                                          description="when it was handed to the witnesses' outbox")


class LedgerCheckpoint(LedgerCheckpointBase, table=True):
    """One stored checkpoint; `tsa_token` is the TSA's DER TimeStampResp, base64."""

    __tablename__ = "ledger_checkpoint"
    __table_args__ = (CheckConstraint("size >= 0", name="ck_ledger_checkpoint_size"),)

    id: int | None = Field(default=None, primary_key=True)
    tsa_token: str | None = Field(default=None, sa_type=Text)


class LedgerCheckpointPublic(LedgerCheckpointBase):
    """A checkpoint as published (the token base64, so anyone can check it against the TSA)."""

    id: int
    tsa_token: str | None
