"""The scheduled check of a large ledger: every checkpoint against the stored tree, plus a random window.

A full `verify` reads every entry (seconds per 100,000 entries: hours for a year of a province). The job
instead checks, each run: every stored checkpoint's signature and root against the stored subtrees
(O(checkpoints × log n) reads), which catches any rewrite whose tree was rebuilt to match, a deleted
tail, an emptied or swapped log; the entries since the last checkpoint; and `window` entries from a
random start, each hashed, linked to the one before and compared with its stored leaf, which catches an
edit that left the tree alone. A ledger no larger than `window` is verified in full.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session, col, select

from ledger import merkle, tree
from ledger.models import LedgerEntry
from ledger.service import VerifyReport, checkpoint_targets, row_problems, verify


def _window(session: Session, after: int, upto: int, prev_hash: str | None) -> list[str]:
    """Problems of entries in (after, upto]: hash, link, stored leaf."""
    reader = tree.NodeReader(session)
    reader.prefetch_range(0, after, upto)
    problems: list[str] = []
    expected = after + 1
    for row in tree.entry_rows(session, after=after, upto=upto):
        problems += row_problems(row, expected, prev_hash if prev_hash is not None else row.prev_hash)
        if reader.cache.get((0, row.seq - 1)) != tree.leaf_of(row):
            problems.append(f"seq {row.seq}: the entry differs from its leaf in the Merkle tree (edited)")
        prev_hash, expected = row.hash, row.seq + 1
    return problems


def sampled_verify(session: Session, *, window: int) -> VerifyReport:
    """Verify in full up to `window` entries, else the checkpoints against the tree and two windows of entries."""
    size = session.exec(select(LedgerEntry.seq).order_by(col(LedgerEntry.seq).desc()).limit(1)).first() or 0
    if size <= window:
        return verify(session)
    targets, problems = checkpoint_targets(session)
    reader = tree.NodeReader(session)
    keys: set[tuple[int, int]] = set()
    for _label, cp_size, _root in targets:
        if cp_size <= size:
            keys.update(merkle.perfect_subtrees(0, cp_size))
    reader.prefetch(keys)
    contradicted: list[str] = []
    for label, cp_size, root in targets:
        if cp_size > size:
            contradicted.append(f"{label} covers {cp_size} entries but the log holds {size}: entries "
                                f"{size + 1}..{cp_size} were deleted")
        elif merkle.tree_root(reader.get, cp_size) != root:
            contradicted.append(f"the log contradicts {label}: the stored Merkle tree no longer gives its root "
                                "(rewritten, reordered or replaced since)")
    last = max((t[1] for t in targets if t[1] <= size), default=0)
    start = secrets.randbelow(max(1, size - window))
    for lo, hi in sorted({(last, size), (start, min(size, start + window))}):
        before = session.exec(select(LedgerEntry.hash).where(LedgerEntry.seq == lo)).first() if lo else None
        problems += _window(session, lo, hi, before if lo else "0" * 64)
    head = session.exec(select(LedgerEntry.hash).where(LedgerEntry.seq == size)).first()
    return VerifyReport(ok=not (contradicted or problems), entries=size, head=head,
                        problems=contradicted + problems, checkpoints=len(targets))
