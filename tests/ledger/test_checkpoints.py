"""Signed checkpoints catch what a database insider can do to the ledger, on SQLite and PostgreSQL.

Each attack is performed as a DBA would: plain SQL on the tables, the chain recomputed so that the old
linear check passes, the Merkle nodes rebuilt to match. The checkpoints signed before (with a key the
database does not hold) must name the first one the rewritten log contradicts.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config.settings import get_settings
from ledger import checkpoints, merkle, note, signing, tree
from ledger.models import GENESIS_HASH, LedgerCheckpoint, entry_hash
from ledger.sampled import sampled_verify
from ledger.service import append, verify, verify_command
from tests.db_fixtures import engine, pg_database_url, session  # noqa: F401

T0 = datetime(2026, 12, 7, 8, 0, 0, tzinfo=UTC)


def _fill(engine: Engine, n: int, start: int = 0, kind: str = "draw.commit") -> None:  # noqa: F811
    with Session(engine) as s:
        for i in range(start, start + n):
            append(s, kind=kind, subject=f"draw:{i}", payload={"i": i, "seed_sha256": f"{i:064x}"},
                   ts=T0 + timedelta(seconds=i))
            s.commit()


def _checkpoint(engine: Engine, minutes: int = 0) -> LedgerCheckpoint:  # noqa: F811
    with Session(engine) as s:
        cp = checkpoints.make(s, reason="manual", now=T0 + timedelta(minutes=minutes), force=True)
        s.commit()
        s.refresh(cp)
        s.expunge(cp)
        return cp


def _rechain(engine: Engine) -> None:  # noqa: F811
    """What an insider does after editing rows: recompute every prev_hash and hash, and the Merkle nodes."""
    with Session(engine) as s:
        rows = s.execute(text("SELECT id, seq, ts, actor, kind, subject, payload FROM ledger_entry ORDER BY seq")).all()
        prev = GENESIS_HASH
        for r in rows:
            h = entry_hash(seq=r.seq, ts=r.ts, actor=r.actor, kind=r.kind, subject=r.subject, payload=r.payload,
                           prev_hash=prev)
            s.execute(text("UPDATE ledger_entry SET prev_hash = :p, hash = :h WHERE id = :id"),
                      {"p": prev, "h": h, "id": r.id})
            prev = h
        tree.rebuild(s)
        s.commit()


def _sql(engine: Engine, stmt: str, **params: object) -> None:  # noqa: F811
    with engine.begin() as conn:
        conn.execute(text(stmt), params)


@pytest.fixture
def ledger_of_40(engine: Engine) -> Iterator[tuple[Engine, LedgerCheckpoint]]:  # noqa: F811
    _fill(engine, 25)
    _checkpoint(engine)
    _fill(engine, 15, start=25)
    last = _checkpoint(engine, 10)
    with Session(engine) as s:
        assert verify(s).ok and verify(s).checkpoints == 2
    yield engine, last


def _first_problem(engine: Engine) -> str:  # noqa: F811
    with Session(engine) as s:
        report = verify(s)
    assert not report.ok
    return report.problems[0]


def test_edit_and_rechain_is_caught_and_never_signed(ledger_of_40: tuple[Engine, LedgerCheckpoint]) -> None:
    engine, _ = ledger_of_40  # noqa: F811
    _sql(engine, "UPDATE ledger_entry SET payload = :p WHERE seq = 7", p=json.dumps({"i": 6, "seed_sha256": "0" * 64},
                                                                                    separators=(",", ":")))
    _rechain(engine)
    with Session(engine) as s:  # the old linear check alone is fooled …
        rows = s.execute(text("SELECT seq, prev_hash, hash FROM ledger_entry ORDER BY seq")).all()
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    problem = _first_problem(engine)  # … the checkpoints are not
    assert problem.startswith("the log contradicts checkpoint #1 (size 25")
    with Session(engine) as s, pytest.raises(checkpoints.CheckpointRefused, match="contradicts checkpoint #2"):
        _fill(engine, 1, start=99)
        checkpoints.make(s, reason="schedule", now=T0 + timedelta(hours=1))
    with Session(engine) as s:
        code, message = verify_command(s)
    assert code == 1 and "checkpoint #1" in message


def test_deleted_tail_and_emptied_ledger_are_caught(ledger_of_40: tuple[Engine, LedgerCheckpoint]) -> None:
    engine, _ = ledger_of_40  # noqa: F811
    _sql(engine, "DELETE FROM ledger_entry WHERE seq > 37")
    _sql(engine, "DELETE FROM ledger_node")
    with Session(engine) as s:
        tree.rebuild(s)
        s.commit()
    assert _first_problem(engine).startswith("checkpoint #2 (size 40")
    assert "the log holds 37: entries 38..40 were deleted" in _first_problem(engine)
    _sql(engine, "DELETE FROM ledger_entry")
    _sql(engine, "DELETE FROM ledger_node")
    with Session(engine) as s:
        code, message = verify_command(s)
    assert code == 1 and "covers 25 entries but the log holds 0" in message
    with Session(engine) as s, pytest.raises(checkpoints.CheckpointRefused, match="were deleted"):
        checkpoints.make(s, reason="schedule", now=T0 + timedelta(hours=1))


def test_reordered_entries_are_caught(ledger_of_40: tuple[Engine, LedgerCheckpoint]) -> None:
    engine, _ = ledger_of_40  # noqa: F811
    # Swap the contents of seq 30 and 31 (a later event moved before an earlier one), then re-chain.
    _sql(engine, "UPDATE ledger_entry SET seq = 1000 WHERE seq = 30")
    _sql(engine, "UPDATE ledger_entry SET seq = 30 WHERE seq = 31")
    _sql(engine, "UPDATE ledger_entry SET seq = 31 WHERE seq = 1000")
    _rechain(engine)
    problem = _first_problem(engine)
    assert problem.startswith("the log contradicts checkpoint #2 (size 40"), problem


def test_a_second_log_swapped_in_is_caught(ledger_of_40: tuple[Engine, LedgerCheckpoint]) -> None:
    engine, _ = ledger_of_40  # noqa: F811
    _sql(engine, "DELETE FROM ledger_entry")
    _sql(engine, "DELETE FROM ledger_node")
    _fill(engine, 45, kind="draw.result")  # a whole other, well-formed log, longer than the signed one
    problem = _first_problem(engine)
    assert problem.startswith("the log contradicts checkpoint #1 (size 25"), problem


def test_a_witness_checkpoint_catches_a_rewrite_after_the_stored_ones_are_deleted(
        ledger_of_40: tuple[Engine, LedgerCheckpoint]) -> None:
    engine, last = ledger_of_40  # noqa: F811
    witness_copy = last.note  # what the witnesses received by mail
    _sql(engine, "UPDATE ledger_entry SET actor = 'user:mallory' WHERE seq = 3")
    _rechain(engine)
    _sql(engine, "DELETE FROM ledger_checkpoint")
    with Session(engine) as s:
        assert verify(s).ok  # nothing left in the database to contradict it …
        report = verify(s, given=[witness_copy])
    assert not report.ok and report.problems[0].startswith("the log contradicts the given checkpoint 1 (size 40")


def test_forged_and_altered_checkpoints_are_rejected(ledger_of_40: tuple[Engine, LedgerCheckpoint]) -> None:
    engine, last = ledger_of_40  # noqa: F811
    text_part, _, sig_line = last.note.rpartition("\n\n")
    forged_sig = base64.b64encode(base64.b64decode(sig_line.split(" ")[2])[:4] + bytes(64)).decode()
    forged = f"{text_part}\n\n{sig_line.rsplit(' ', 1)[0]} {forged_sig}\n"
    with pytest.raises(note.NoteError, match="does not verify"):
        note.open_note(forged, signing.verifiers())
    with Session(engine) as s:
        report = verify(s, given=[forged])
        assert not report.ok and "given checkpoint 1" in report.problems[0]
    # A DBA edits a stored checkpoint's root to match a rewritten log: its signature no longer holds.
    _sql(engine, "UPDATE ledger_checkpoint SET note = :n WHERE id = :i",
         n=last.note.replace(text_part.split("\n")[2], base64.b64encode(bytes(32)).decode()), i=last.id)
    with Session(engine) as s:
        report = verify(s)
    assert not report.ok and any("checkpoint #2" in p and "forged or altered" in p for p in report.problems)


def test_key_rotation_keeps_old_checkpoints_valid(ledger_of_40: tuple[Engine, LedgerCheckpoint], tmp_path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    engine, _ = ledger_of_40  # noqa: F811
    old = signing.current_verifier().text
    monkeypatch.setenv("YIDI_LEDGER_SIGNING_KEY_FILE", str(tmp_path / "new.pem"))
    get_settings.cache_clear()
    with Session(engine) as s:
        report = verify(s)
        assert not report.ok and "no signature on this note is by a known key" in report.problems[0]
    monkeypatch.setenv("YIDI_LEDGER_PREVIOUS_KEYS", json.dumps([old]))
    get_settings.cache_clear()
    _fill(engine, 2, start=40)
    cp = _checkpoint(engine, 20)
    with Session(engine) as s:
        report = verify(s)
        assert report.ok and report.checkpoints == 3, report.problems
    assert cp.key_id != note.parse_verifier(old).key_id.hex()
    assert [v.text for v in signing.verifiers()][1] == old
    monkeypatch.undo()
    get_settings.cache_clear()


def test_stored_tree_gives_proofs_that_verify(ledger_of_40: tuple[Engine, LedgerCheckpoint]) -> None:
    engine, last = ledger_of_40  # noqa: F811
    with Session(engine) as s:
        root = bytes.fromhex(last.root_hash)
        rows = list(tree.entry_rows(s))
        proofs = tree.inclusion_proofs(s, [r.seq - 1 for r in rows], last.size)
        for r in rows:
            merkle.verify_inclusion(r.seq - 1, last.size, tree.leaf_of(r), proofs[r.seq - 1], root)
        first = s.exec(select(LedgerCheckpoint).where(LedgerCheckpoint.size == 25)).one()
        merkle.verify_consistency(25, 40, bytes.fromhex(first.root_hash), root, tree.consistency_proof(s, 25, 40))
        assert tree.root(s, 40) == root
        assert merkle.root_of([tree.leaf_of(r) for r in rows]) == root
        body = note.parse_checkpoint(last.note.rpartition("\n\n")[0] + "\n")
        assert body.size == 40 and body.root == root and body.time == T0 + timedelta(minutes=10)
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


def test_an_edit_before_the_next_checkpoint_is_refused(engine: Engine) -> None:  # noqa: F811
    _fill(engine, 5)
    _checkpoint(engine)
    _fill(engine, 3, start=5)
    _sql(engine, "UPDATE ledger_entry SET subject = 'draw:x' WHERE seq = 7")
    with Session(engine) as s, pytest.raises(checkpoints.CheckpointRefused, match="seq 7"):
        checkpoints.make(s, reason="schedule", now=T0 + timedelta(minutes=5))


def test_the_scheduled_sampled_check(ledger_of_40: tuple[Engine, LedgerCheckpoint],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = ledger_of_40  # noqa: F811
    with Session(engine) as s:
        assert sampled_verify(s, window=10).ok and sampled_verify(s, window=100).ok
    # An edit that leaves the tree alone, in an old region: caught when the random window covers it.
    _sql(engine, "UPDATE ledger_entry SET actor = 'user:mallory' WHERE seq = 12")
    monkeypatch.setattr("ledger.sampled.secrets.randbelow", lambda n: 5)
    with Session(engine) as s:
        report = sampled_verify(s, window=10)
    assert not report.ok and any("seq 12" in p for p in report.problems)
    # The same edit with the chain and the tree recomputed: every run catches it, whatever the window.
    _rechain(engine)
    monkeypatch.setattr("ledger.sampled.secrets.randbelow", lambda n: 25)
    with Session(engine) as s:
        report = sampled_verify(s, window=10)
    assert not report.ok and report.problems[0].startswith("the log contradicts checkpoint #1 (size 25")
    _sql(engine, "DELETE FROM ledger_entry WHERE seq > 35")
    with Session(engine) as s:
        assert any("entries 36..40 were deleted" in p for p in sampled_verify(s, window=10).problems)
