"""The audit ledger on SQLite and PostgreSQL: chaining, tamper detection, concurrency, reading."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger.models import GENESIS_HASH, LedgerEntry, LedgerEntryPublic, LedgerError
from ledger.service import append, entries, head, verify, verify_command
from tests.db_fixtures import engine, pg_database_url, session  # noqa: F401

T0 = datetime(2026, 11, 23, 1, 0, 0, 123456, tzinfo=UTC)


def _fill(engine: Engine, n: int) -> list[str]:  # noqa: F811
    """Append n committed entries, one transaction each; return their hashes in order."""
    hashes = []
    with Session(engine) as s:
        for i in range(n):
            entry = append(
                s,
                kind="draw.commit" if i % 2 == 0 else "draw.result",
                subject=f"P-{i % 3}",
                payload={"i": i, "z": [1, 2.5, None], "名": "济南"},
                ts=T0 + timedelta(seconds=i),
            )
            s.commit()
            hashes.append(entry.hash)
    return hashes


def _sql(engine: Engine, stmt: str, **params: object) -> None:  # noqa: F811
    with engine.begin() as conn:
        conn.execute(text(stmt), params)


def test_chain_links_and_hash_matches_documented_encoding(engine: Engine) -> None:  # noqa: F811
    hashes = _fill(engine, 5)
    with Session(engine) as s:
        rows = entries(s, limit=10)
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
        assert rows[0].prev_hash == GENESIS_HASH == "0" * 64
        for before, after in zip(rows, rows[1:], strict=False):
            assert after.prev_hash == before.hash
        assert [r.hash for r in rows] == hashes
        # Recompute one hash by hand from the encoding the docstring promises.
        r = rows[2]
        assert r.payload == '{"i":2,"z":[1,2.5,null],"名":"济南"}'
        fields = [3, "2026-11-23T01:00:02.123456Z", "system", "draw.commit", "P-2", r.payload, rows[1].hash]
        data = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        assert r.hash == hashlib.sha256(data).hexdigest()
        report = verify(s)
        assert report.ok, report.problems
        assert (report.entries, report.head, report.problems) == (5, hashes[-1], [])


def test_timestamp_round_trips_identically(engine: Engine) -> None:  # noqa: F811
    cst = timezone(timedelta(hours=8))
    ts = datetime(2026, 11, 23, 9, 0, 0, 7, tzinfo=cst)
    with Session(engine) as s:
        append(s, kind="x.y", subject="s", payload={}, ts=ts)
        s.commit()
    with Session(engine) as s:
        got = entries(s)[0]
        assert got.ts == ts and got.ts.tzinfo is not None and got.ts.utcoffset() == timedelta(0)
        raw = s.execute(text("SELECT ts FROM ledger_entry")).scalar_one()
        assert raw == "2026-11-23T01:00:00.000007Z"
        with pytest.raises(LedgerError, match="timezone-aware"):
            append(s, kind="x.y", subject="s", payload={}, ts=datetime(2026, 1, 1))
        # Default ts is "now" in UTC.
        before = datetime.now(UTC)
        assert before - timedelta(seconds=5) <= append(s, kind="x.y", subject="s", payload={}).ts
        assert verify(s).ok


def test_edited_payload_detected_with_seq(engine: Engine) -> None:  # noqa: F811
    _fill(engine, 6)
    _sql(engine, "UPDATE ledger_entry SET payload = :p WHERE seq = 4", p='{"i":99}')
    with Session(engine) as s:
        report = verify(s)
    assert not report.ok and report.entries == 6
    assert any(p.startswith("seq 4:") and "edited" in p for p in report.problems), report.problems
    assert all(p.startswith("seq 4:") for p in report.problems), report.problems


def test_edited_timestamp_and_actor_detected(engine: Engine) -> None:  # noqa: F811
    _fill(engine, 5)
    _sql(engine, "UPDATE ledger_entry SET ts = 'not-a-time' WHERE seq = 2")
    _sql(engine, "UPDATE ledger_entry SET ts = '2026-11-23T01:00:02.123457Z' WHERE seq = 3")
    _sql(engine, "UPDATE ledger_entry SET actor = 'user:mallory' WHERE seq = 4")
    with Session(engine) as s:
        problems = verify(s).problems
    assert [p.split(":")[0] for p in problems] == ["seq 2", "seq 3", "seq 4"], problems


def test_deleted_middle_row_detected(engine: Engine) -> None:  # noqa: F811
    _fill(engine, 6)
    _sql(engine, "DELETE FROM ledger_entry WHERE seq = 3")
    with Session(engine) as s:
        report = verify(s)
    assert not report.ok and report.entries == 5
    assert any("seq 4: gap" in p and "3 missing" in p for p in report.problems), report.problems
    assert any("seq 4: prev_hash" in p for p in report.problems), report.problems


def test_swapped_rows_detected(engine: Engine) -> None:  # noqa: F811
    _fill(engine, 6)
    _sql(engine, "UPDATE ledger_entry SET seq = 100 WHERE seq = 2")
    _sql(engine, "UPDATE ledger_entry SET seq = 2 WHERE seq = 5")
    _sql(engine, "UPDATE ledger_entry SET seq = 5 WHERE seq = 100")
    with Session(engine) as s:
        report = verify(s)
    assert not report.ok
    flagged = {p.split(":")[0] for p in report.problems}
    assert {"seq 2", "seq 5"} <= flagged, report.problems


def test_truncated_tail_detected_only_with_expect_head(engine: Engine) -> None:  # noqa: F811
    hashes = _fill(engine, 6)
    published = hashes[-1]
    with Session(engine) as s:
        assert verify(s, expect_head=published).ok
        assert verify(s, expect_head=hashes[2]).ok  # an older published head is still in the chain
    _sql(engine, "DELETE FROM ledger_entry WHERE seq >= 5")
    with Session(engine) as s:
        plain = verify(s)
        assert plain.ok and plain.entries == 4 and plain.head == hashes[3]
        checked = verify(s, expect_head=published)
        assert not checked.ok
        assert published in checked.problems[0] and "truncated" in checked.problems[0]
        code, message = verify_command(s, expect_head=published)
        assert code == 1 and "FAILED" in message and "truncated" in message


def test_verify_streams_across_chunk_boundaries(engine: Engine) -> None:  # noqa: F811
    hashes = _fill(engine, 7)
    with Session(engine) as s:
        for size in (1, 2, 3, 7, 50):
            report = verify(s, chunk_size=size, expect_head=hashes[-1])
            assert report.ok and report.entries == 7 and report.head == hashes[-1], size
    _sql(engine, "DELETE FROM ledger_entry WHERE seq = 4")
    with Session(engine) as s:
        for size in (1, 3):
            assert any("seq 5: gap" in p for p in verify(s, chunk_size=size).problems), size


def test_concurrent_appends_never_fork(engine: Engine) -> None:  # noqa: F811
    threads_n, per_thread = 4, 25
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            with Session(engine) as s:
                barrier.wait()
                for i in range(per_thread):
                    append(s, kind="test.concurrent", subject=f"T{t}", payload={"t": t, "i": i}, actor="cli")
                    s.commit()
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    with Session(engine) as s:
        report = verify(s)
        assert report.ok, report.problems
        assert report.entries == threads_n * per_thread
        got = {(json.loads(e.payload)["t"], json.loads(e.payload)["i"]) for e in entries(s, limit=1000)}
    assert got == {(t, i) for t in range(threads_n) for i in range(per_thread)}


def test_rolled_back_append_leaves_no_gap(engine: Engine) -> None:  # noqa: F811
    with Session(engine) as s:
        append(s, kind="a.b", subject="s", payload={"n": 1})
        s.commit()
        append(s, kind="a.b", subject="s", payload={"n": 2})
        s.rollback()
        third = append(s, kind="a.b", subject="s", payload={"n": 3})
        s.commit()
        assert third.seq == 2
        assert [json.loads(e.payload)["n"] for e in entries(s)] == [1, 3]
        assert verify(s).ok


@pytest.mark.parametrize(
    "payload",
    [
        {"template": b"\x00\x01"},
        {"nested": [{"face": bytearray(b"x")}]},
        {"m": memoryview(b"x")},
    ],
)
def test_bytes_payload_rejected(session: Session, payload: dict[str, object]) -> None:  # noqa: F811
    with pytest.raises(LedgerError, match="bytes"):
        append(session, kind="checkin.ok", subject="E1", payload=payload)
    assert entries(session) == []


def test_bad_payloads_and_fields_rejected(session: Session) -> None:  # noqa: F811
    bad_payloads: list[object] = [{1: "x"}, {"x": float("nan")}, {"x": {1, 2}}, ["not", "an", "object"]]
    for bad in bad_payloads:
        with pytest.raises(LedgerError):
            append(session, kind="a.b", subject="s", payload=bad)  # type: ignore[arg-type]
    bad_fields: list[dict[str, object]] = [{"kind": ""}, {"subject": "x" * 129}, {"actor": "a\nb"}]
    for kwargs in bad_fields:
        args: dict[str, object] = {"kind": "a.b", "subject": "s", "payload": {}, **kwargs}
        with pytest.raises(LedgerError):
            append(session, **args)  # type: ignore[arg-type]
    assert entries(session) == [] and head(session) is None


def test_entries_filters_and_paging(engine: Engine) -> None:  # noqa: F811
    _fill(engine, 9)
    with Session(engine) as s:
        append(s, kind="draw%.odd", subject="P-0", payload={})
        s.commit()
        assert [e.seq for e in entries(s, kind_prefix="draw.c")] == [1, 3, 5, 7, 9]
        assert [e.seq for e in entries(s, kind_prefix="draw%")] == [10]  # % is literal, not a wildcard
        assert [e.seq for e in entries(s, subject="P-1")] == [2, 5, 8]
        assert [e.seq for e in entries(s, kind_prefix="draw.", subject="P-0", after_seq=1)] == [4, 7]
        assert [e.seq for e in entries(s, limit=3, after_seq=6)] == [7, 8, 9]
        last = head(s)
        assert last is not None and last.seq == 10
        public = LedgerEntryPublic.model_validate(last)
        assert public.hash == last.hash and public.ts == last.ts and public.id == last.id
        with pytest.raises(LedgerError):
            entries(s, limit=0)


def test_verify_command_messages(engine: Engine) -> None:  # noqa: F811
    with Session(engine) as s:
        assert verify_command(s) == (0, "Audit ledger OK: the ledger is empty and no checkpoint says otherwise.")
    hashes = _fill(engine, 3)
    with Session(engine) as s:
        code, message = verify_command(s)
        assert code == 0 and "3 entries" in message and hashes[-1] in message
    _sql(engine, "UPDATE ledger_entry SET subject = 'P-X' WHERE seq = 2")
    with Session(engine) as s:
        code, message = verify_command(s)
        assert code == 1 and "seq 2" in message


def test_unique_seq_refuses_a_fork(engine: Engine) -> None:  # noqa: F811
    _fill(engine, 2)
    with Session(engine) as s:
        first = entries(s)[0]
        clone = LedgerEntry(**first.model_dump(exclude={"id"}))
        s.add(clone)
        with pytest.raises(Exception, match="(?i)unique|duplicate"):
            s.flush()
