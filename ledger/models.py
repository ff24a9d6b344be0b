"""The audit ledger's table and its hash encoding: an append-only SHA-256 chain.

Each entry's `hash` is the SHA-256 (hex) of the UTF-8 bytes of the JSON array

    [seq, ts, actor, kind, subject, payload, prev_hash]

written with no white space (separators "," and ":") and non-ASCII characters kept as UTF-8
(`json.dumps(..., ensure_ascii=False, separators=(",", ":"))`), where `ts` is the UTC timestamp
text `YYYY-MM-DDTHH:MM:SS.ffffffZ` exactly as stored, `payload` is the canonical JSON text of the
payload object (keys sorted, no white space, UTF-8) as a JSON string, and `prev_hash` is the hash of
the entry before (64 zeros for the first). Anyone holding the rows can recompute the chain.

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

from sqlalchemy import CheckConstraint, String, Text
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


def entry_hash(
    *, seq: int, ts: str, actor: str, kind: str, subject: str, payload: str, prev_hash: str
) -> str:
    """SHA-256 hex of the canonical encoding of one entry (see the module docstring)."""
    fields = [seq, ts, actor, kind, subject, payload, prev_hash]
    data = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
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
