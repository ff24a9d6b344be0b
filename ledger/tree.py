"""The RFC 9162 Merkle tree over the ledger's entries, in the table `ledger_node`.

`add_leaf` runs inside `append` (under the chain lock): it stores the leaf and every subtree the leaf
completes, reading only their left siblings in one query. Roots and proofs then read O(log n) nodes;
`NodeReader.prefetch` batches the reads of many proofs (an evidence zip) into a few IN queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import String, and_, delete, insert, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ledger import merkle
from ledger.models import LedgerEntry, LedgerError, LedgerNode, entry_bytes

CHUNK = 1000
_IN_CHUNK = 500


class TreeError(LedgerError):
    """A node the tree should hold is missing (the table was edited or never built: `yidi ledger rebuild-tree`)."""


def leaf_of(row: Any) -> bytes:
    """The Merkle leaf hash of an entry row (its `ts` as the stored text)."""
    ts = row.ts if isinstance(row.ts, str) else None
    if ts is None:
        raise LedgerError("leaf_of needs the timestamp as its stored text")
    return merkle.leaf_hash(entry_bytes(seq=row.seq, ts=ts, actor=row.actor, kind=row.kind, subject=row.subject,
                                        payload=row.payload, prev_hash=row.prev_hash))


def add_leaf(session: Session, *, index: int, leaf: bytes) -> None:
    """Store leaf `index` and the subtrees it completes (the caller holds the chain lock)."""
    levels = 0
    while (index >> levels) & 1:
        levels += 1
    siblings: dict[int, bytes] = {}
    if levels:
        keys = [(lv, (index >> lv) - 1) for lv in range(levels)]
        rows = session.execute(sa_select(col(LedgerNode.level), col(LedgerNode.idx), col(LedgerNode.hash)).where(
            or_(*(and_(col(LedgerNode.level) == lv, col(LedgerNode.idx) == i) for lv, i in keys)))).all()
        siblings = {r.level: bytes.fromhex(r.hash) for r in rows}
        if len(siblings) != levels:
            raise TreeError(f"the Merkle tree lacks a left sibling of leaf {index}: rebuild it (yidi ledger "
                            "rebuild-tree) and verify the ledger")
    values = [{"level": 0, "idx": index, "hash": leaf.hex()}]
    node = leaf
    for lv in range(levels):
        node = merkle.node_hash(siblings[lv], node)
        values.append({"level": lv + 1, "idx": index >> (lv + 1), "hash": node.hex()})
    session.execute(insert(LedgerNode), values)


class NodeReader:
    """Reads nodes for roots and proofs, with a cache and batched prefetching."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes:
        """The hash of a complete subtree; TreeError when the table lacks it."""
        key = (level, index)
        if key not in self.cache:
            self.prefetch([key])
            if key not in self.cache:
                raise TreeError(f"the Merkle tree has no node at level {level}, index {index}")
        return self.cache[key]

    def prefetch(self, keys: Iterable[tuple[int, int]]) -> None:
        """Load many nodes in a few queries (one per level and chunk)."""
        by_level: dict[int, list[int]] = {}
        for level, index in keys:
            if (level, index) not in self.cache:
                by_level.setdefault(level, []).append(index)
        for level, indices in by_level.items():
            for i in range(0, len(indices), _IN_CHUNK):
                part = indices[i:i + _IN_CHUNK]
                rows = self.session.execute(sa_select(col(LedgerNode.idx), col(LedgerNode.hash)).where(
                    col(LedgerNode.level) == level, col(LedgerNode.idx).in_(part))).all()
                self.cache.update({(level, r.idx): bytes.fromhex(r.hash) for r in rows})


    def prefetch_range(self, level: int, lo: int, hi: int) -> None:
        """Load the nodes of one level with lo <= index < hi in one range scan (leaves since a checkpoint)."""
        for start in range(lo, hi, CHUNK * 10):
            rows = self.session.execute(sa_select(col(LedgerNode.idx), col(LedgerNode.hash)).where(
                col(LedgerNode.level) == level, col(LedgerNode.idx) >= start,
                col(LedgerNode.idx) < min(hi, start + CHUNK * 10))).all()
            self.cache.update({(level, r.idx): bytes.fromhex(r.hash) for r in rows})


def needed(compute: Callable[[merkle.NodeGetter], object]) -> set[tuple[int, int]]:
    """The nodes a computation reads, found by running it over placeholder hashes."""
    keys: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        keys.add((level, index))
        return bytes(32)

    compute(record)
    return keys


def root(session: Session, size: int, reader: NodeReader | None = None) -> bytes:
    """The stored tree's root at `size` entries."""
    return merkle.tree_root((reader or NodeReader(session)).get, size)


def inclusion_proofs(session: Session, indices: list[int], size: int) -> dict[int, list[bytes]]:
    """Inclusion proofs of many leaves in the tree of `size`, in a few batched reads."""
    reader = NodeReader(session)
    keys: set[tuple[int, int]] = set()
    for index in indices:
        keys |= needed(lambda get, i=index: merkle.inclusion_proof(get, i, size))  # type: ignore[misc]
    reader.prefetch(keys)
    return {index: merkle.inclusion_proof(reader.get, index, size) for index in indices}


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """The consistency proof between two sizes of the stored tree."""
    reader = NodeReader(session)
    reader.prefetch(needed(lambda get: merkle.consistency_proof(get, first, second)))
    return merkle.consistency_proof(reader.get, first, second)


def entry_rows(session: Session, *, after: int = 0, upto: int | None = None,
               chunk: int = CHUNK) -> Iterator[Any]:
    """Entry rows with seq in (after, upto], in seq order, streamed in chunks (ts as stored text)."""
    cols = (col(LedgerEntry.seq), type_coerce(col(LedgerEntry.ts), String()).label("ts"), col(LedgerEntry.actor),
            col(LedgerEntry.kind), col(LedgerEntry.subject), col(LedgerEntry.payload),
            col(LedgerEntry.prev_hash), col(LedgerEntry.hash))
    last = after
    while True:
        stmt = sa_select(*cols).where(col(LedgerEntry.seq) > last)
        if upto is not None:
            stmt = stmt.where(col(LedgerEntry.seq) <= upto)
        rows = session.execute(stmt.order_by(col(LedgerEntry.seq)).limit(chunk)).all()
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1].seq


def rebuild(session: Session) -> int:
    """Recompute every node from the entries (after a migration or a repair); returns the leaf count."""
    session.execute(delete(LedgerNode))
    cr = merkle.CompactRange()
    batch: list[dict[str, Any]] = []
    for row in entry_rows(session):
        batch += [{"level": lv, "idx": i, "hash": h.hex()} for lv, i, h in cr.append(leaf_of(row))]
        if len(batch) >= CHUNK:
            session.execute(insert(LedgerNode), batch)
            batch = []
    if batch:
        session.execute(insert(LedgerNode), batch)
    session.flush()
    return cr.size
