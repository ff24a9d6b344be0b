"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and their verification.

The hashing is RFC 6962's: a leaf is SHA-256(0x00 || data), an interior node SHA-256(0x01 || left || right), and
the tree of no leaves SHA-256(""); the distinct prefixes keep a leaf from posing as a node (second preimages).
A tree of n > 1 leaves splits at k, the largest power of two below n: MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n])).
Every hash that recursion needs folds from *perfect* subtrees (2**level leaves starting at a multiple of 2**level),
so storage keeps only those, addressed (level, index), and hands them in through a `NodeGetter`.
Pure: no I/O, only hashlib. Verification is the RFC's bit walk (§2.1.3.2, §2.1.4.2): it needs only the proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from functools import reduce

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

NodeGetter = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof that does not verify, or arguments out of range (message says which)."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf's data: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    if n < 2:
        raise ProofError(f"split_point needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves (leaf hashes); EMPTY_ROOT for none."""
    # The RFC's recursion verbatim, so that it can stand as the reference for the getter-based functions.
    if len(leaves) <= 1:
        return leaves[0] if leaves else EMPTY_ROOT
    k = split_point(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def _fold(hashes: Sequence[bytes]) -> bytes:
    # The chunks shrink left to right, so the MTH nests to the right: node(h0, node(h1, ... hn)).
    return reduce(lambda acc, h: node_hash(h, acc), reversed(hashes[:-1]), hashes[-1]) if hashes else EMPTY_ROOT


def perfect_subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """The (level, index) perfect subtrees covering leaves [lo, hi) left to right, as the RFC recursion splits it."""
    if not 0 <= lo <= hi:
        raise ProofError(f"the leaf range [{lo}, {hi}) is out of range")
    out: list[tuple[int, int]] = []
    while lo < hi:
        # The largest aligned chunk at lo that fits (for an unaligned lo this is the usual compact range).
        level = (hi - lo).bit_length() - 1
        if lo:
            level = min(level, (lo & -lo).bit_length() - 1)
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def range_hash(get: NodeGetter, lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) from perfect-subtree lookups; lo must be a multiple of the largest power of two <= hi - lo."""
    # Otherwise the range's own MTH chunks would straddle stored subtrees and not be lookups at all.
    if 0 <= lo < hi and lo % (1 << ((hi - lo).bit_length() - 1)):
        raise ProofError(f"the leaf range [{lo}, {hi}) is not one the RFC recursion produces")
    return _fold([get(level, index) for level, index in perfect_subtrees(lo, hi)])


def tree_root(get: NodeGetter, size: int) -> bytes:
    """The root of the tree of the first `size` leaves (= range_hash(get, 0, size)); EMPTY_ROOT for 0."""
    return range_hash(get, 0, size)


def inclusion_proof(get: NodeGetter, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size])."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    # Descend from the root; the RFC lists the siblings from the leaf up, hence the reverse.
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(range_hash(get, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(get, lo, lo + k))
            lo += k
    return path[::-1]


def consistency_proof(get: NodeGetter, first: int, second: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[0:second]); [] when first == second or first == 0."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    path: list[bytes] = []
    lo, hi = 0, second
    whole = True  # SUBPROOF's b: [lo, hi) is still the old tree itself, whose root the verifier already holds
    while first != hi:
        k = split_point(hi - lo)
        if first - lo <= k:
            path.append(range_hash(get, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(get, lo, lo + k))
            lo += k
            whole = False
    if not whole:
        path.append(range_hash(get, lo, hi))
    return path[::-1]


def _walk(fn: int, sn: int, proof: Sequence[bytes], what: str) -> Iterator[tuple[bytes, bool]]:
    # The RFC's fn/sn walk, shared by both verifiers: yields each element and whether it is a left sibling.
    for i, element in enumerate(proof):
        if len(element) != HASH_SIZE:
            raise ProofError(f"{what}: element {i} is {len(element)} bytes, not {HASH_SIZE}")
        if sn == 0:
            raise ProofError(f"{what} is too long")
        left = bool(fn & 1) or fn == sn
        yield element, left
        # A left sibling at the right edge may skip levels where the node has no sibling at all.
        while left and not fn & 1 and fn:
            fn, sn = fn >> 1, sn >> 1
        fn, sn = fn >> 1, sn >> 1
    if sn:
        raise ProofError(f"{what} is too short")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof of leaf hash `leaf` leads to (RFC 9162 §2.1.3.2); ProofError if malformed."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"the leaf hash is {len(leaf)} bytes, not {HASH_SIZE}")
    r = leaf
    for p, left in _walk(index, size - 1, proof, f"the inclusion proof of leaf {index} of {size}"):
        r = node_hash(p, r) if left else node_hash(r, p)
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that leaf hash `leaf` is leaf `index` of the tree of `size` with `root`; ProofError if not."""
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"the inclusion proof of leaf {index} does not lead to the root of size {size}")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check that the tree of `second` extends the tree of `first` (RFC 9162 §2.1.4.2); ProofError if not."""
    what = f"the consistency proof from {first} to {second}"
    if not 0 <= first <= second:
        raise ProofError(f"no consistency between size {first} and size {second}")
    if first in (0, second):
        if proof:
            raise ProofError(f"{what} must be empty")
        if first == second and first_root != second_root:
            raise ProofError(f"two different roots for the same size {first}")
        if first == 0 and first_root != EMPTY_ROOT:
            raise ProofError("the root given for size 0 is not the empty tree's")
        return
    if not proof:
        raise ProofError(f"{what} is empty")
    # A power-of-two old tree is a perfect subtree of the new one, so the proof omits its (known) root.
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    if len(path[0]) != HASH_SIZE:
        raise ProofError(f"{what}: element 0 is {len(path[0])} bytes, not {HASH_SIZE}")
    fr = sr = path[0]
    for c, left in _walk(fn, sn, path[1:], what):
        if left:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    if fr != first_root or sr != second_root:
        raise ProofError(f"{what} does not lead to the given roots")


class CompactRange:
    """The perfect subtrees covering leaves [0, size): append leaves one by one, read the root at any time.

    O(log n) memory: one hash per set bit of the size, largest subtree first.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a compact range of size {size} has {max(size, 0).bit_count()} hashes, not {len(hashes)}")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"compact range hashes must be {HASH_SIZE} bytes")
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        """The number of leaves covered."""
        return self._size

    @property
    def hashes(self) -> list[bytes]:
        """The perfect_subtrees(0, size) hashes, left to right (a copy)."""
        return list(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns every (level, index, hash) node it completes, the leaf first."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf)}")
        index, node, level = self._size, leaf, 0
        done = [(0, index, leaf)]
        # Each trailing 1 bit of the new leaf's index is an equal-sized left sibling waiting to be merged.
        while (index >> level) & 1:
            node = node_hash(self._hashes.pop(), node)
            level += 1
            done.append((level, index >> level, node))
        self._hashes.append(node)
        self._size += 1
        return done

    def root(self) -> bytes:
        """The root of the tree of the leaves so far."""
        return _fold(self._hashes)

    @classmethod
    def from_getter(cls, get: NodeGetter, size: int) -> CompactRange:
        """The compact range of the first `size` leaves of a stored tree."""
        return cls(size, [get(level, index) for level, index in perfect_subtrees(0, size)])


class MemoryTree:
    """All levels in memory (tests, offline tools): a NodeGetter over a list of leaf hashes."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash and every perfect subtree it completes."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf)}")
        self._levels[0].append(leaf)
        level = 0
        while len(self._levels[level]) % 2 == 0:
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._levels[level + 1].append(node_hash(*self._levels[level][-2:]))
            level += 1

    def get(self, level: int, index: int) -> bytes:
        """The hash of a complete perfect subtree; ProofError if that subtree is not complete."""
        if not (0 <= level < len(self._levels) and 0 <= index < len(self._levels[level])):
            raise ProofError(f"no complete subtree at level {level}, index {index} in a tree of size {self.size}")
        return self._levels[level][index]

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])
