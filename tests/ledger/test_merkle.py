"""ledger.merkle against the published Certificate Transparency vectors, corrupted proofs, edges and round trips."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ledger import merkle
from ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryTree,
    NodeGetter,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    perfect_subtrees,
    range_hash,
    root_from_inclusion,
    root_of,
    split_point,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f"]]
HASHES = [leaf_hash(d) for d in LEAVES]
ROOTS = [EMPTY_ROOT] + [bytes.fromhex(h) for h in [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]]


def _hx(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


# (0-based leaf index, tree size, proof); the published vectors number leaves from 1.
INCLUSION = [
    (0, 8, _hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (5, 8, _hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 3, _hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (1, 5, _hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, _hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, _hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 5, _hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]
GARBAGE = bytes(range(32))
OTHER = leaf_hash(b"not a leaf of this tree")


def _bounded(tree: MemoryTree, size: int) -> NodeGetter:
    """tree.get, failing the test on a lookup outside the first `size` leaves (a proof must not see later ones)."""
    def get(level: int, index: int) -> bytes:
        assert (index + 1) << level <= size, f"lookup ({level}, {index}) reaches past leaf {size}"
        return tree.get(level, index)
    return get


def _flip(proof: Sequence[bytes], i: int) -> list[bytes]:
    out = list(proof)
    out[i] = bytes([out[i][0] ^ 0x01]) + out[i][1:]
    return out


def _mutations(proof: list[bytes]) -> list[tuple[str, list[bytes]]]:
    """Proofs that must fail: garbage at either end, an element flipped, removed, cut short or inserted."""
    out = [("append garbage", [*proof, GARBAGE]), ("prepend garbage", [GARBAGE, *proof])]
    out += [(f"flip {i}", _flip(proof, i)) for i in range(len(proof))]
    out += [(f"remove {i}", proof[:i] + proof[i + 1:]) for i in range(len(proof))]
    out += [(f"insert at {i}", proof[:i] + [GARBAGE] + proof[i:]) for i in range(1, len(proof))]
    out += [(f"short element {i}", proof[:i] + [proof[i][:31]] + proof[i + 1:]) for i in range(len(proof))]
    return out


def _inclusion_probes() -> list[object]:
    probes: list[object] = []
    for index, size, proof in INCLUSION:
        leaf, root = HASHES[index], ROOTS[size]
        cases: list[tuple[str, int, int, bytes, list[bytes], bytes]] = [
            ("index-1", index - 1, size, leaf, proof, root), ("index+1", index + 1, size, leaf, proof, root),
            ("size*2", index, size * 2, leaf, proof, root), ("size//2", index, size // 2, leaf, proof, root),
            ("index^2", index ^ 2, size, leaf, proof, root),
            ("wrong leaf", index, size, OTHER, proof, root), ("wrong root", index, size, leaf, proof, ROOTS[size - 1]),
            ("empty root", index, size, leaf, proof, EMPTY_ROOT),
            ("trailing root", index, size, leaf, [*proof, root], root),
            ("preceding root", index, size, leaf, [root, *proof], root),
        ]
        cases += [(name, index, size, leaf, p, root) for name, p in _mutations(proof)]
        probes += [pytest.param(*case[1:], id=f"{index}/{size}:{case[0]}") for case in cases]
    return probes


def _consistency_probes() -> list[object]:
    probes: list[object] = []
    for first, second, proof in CONSISTENCY:
        r1, r2 = ROOTS[first], ROOTS[second]
        cases: list[tuple[str, int, int, bytes, bytes, list[bytes]]] = [
            ("first-1", first - 1, second, r1, r2, proof), ("first+1", first + 1, second, r1, r2, proof),
            ("first^2", first ^ 2, second, r1, r2, proof),
            # Not second +-1: the RFC walk binds a size only through its bit pattern (and the signed root beside it),
            # so the proof for 1 -> 8 also "verifies" 1 -> 7 with the same roots, as in every RFC 9162 verifier.
            ("second*2", first, second * 2, r1, r2, proof), ("second//2", first, second // 2, r1, r2, proof),
            ("empty first root", first, second, EMPTY_ROOT, r2, proof),
            ("wrong first root", first, second, OTHER, r2, proof),
            ("wrong second root", first, second, r1, OTHER, proof),
        ]
        if r1 != r2:
            cases.append(("swapped roots", first, second, r2, r1, proof))
        for n, r in enumerate((r1, r2), 1):
            cases += [(f"trailing root{n}", first, second, r1, r2, [*proof, r]),
                      (f"preceding root{n}", first, second, r1, r2, [r, *proof])]
        cases += [(name, first, second, r1, r2, p) for name, p in _mutations(proof)]
        probes += [pytest.param(*case[1:], id=f"{first}/{second}:{case[0]}") for case in cases]
    return probes


def test_roots_for_every_size() -> None:
    tree, cr = MemoryTree(), CompactRange()
    assert root_of([]) == tree_root(tree.get, 0) == cr.root() == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for size in range(1, len(HASHES) + 1):
        tree.append(HASHES[size - 1])
        cr.append(HASHES[size - 1])
        assert root_of(HASHES[:size]) == tree_root(tree.get, size) == cr.root() == ROOTS[size], size
        assert tree.size == cr.size == size


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION, ids=lambda v: str(v)[:8])
def test_inclusion_vectors(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(MemoryTree(HASHES).get, index, size) == proof
    verify_inclusion(index, size, HASHES[index], proof, ROOTS[size])
    assert root_from_inclusion(index, size, HASHES[index], proof) == ROOTS[size]


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY, ids=lambda v: str(v)[:8])
def test_consistency_vectors(first: int, second: int, proof: list[bytes]) -> None:
    assert consistency_proof(MemoryTree(HASHES).get, first, second) == proof
    verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)


@pytest.mark.parametrize(("index", "size", "leaf", "proof", "root"), _inclusion_probes())
def test_corrupted_inclusion_fails(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, root)


@pytest.mark.parametrize(("first", "second", "r1", "r2", "proof"), _consistency_probes())
def test_corrupted_consistency_fails(first: int, second: int, r1: bytes, r2: bytes, proof: list[bytes]) -> None:
    with pytest.raises(ProofError):
        verify_consistency(first, second, r1, r2, proof)


def test_consistency_edges() -> None:
    get = MemoryTree(HASHES).get
    for n in range(len(ROOTS)):
        assert consistency_proof(get, n, n) == consistency_proof(get, 0, n) == []
        verify_consistency(n, n, ROOTS[n], ROOTS[n], [])
        verify_consistency(0, n, EMPTY_ROOT, ROOTS[n], [])
        with pytest.raises(ProofError, match="must be empty"):
            verify_consistency(n, n, ROOTS[n], ROOTS[n], [GARBAGE])
        with pytest.raises(ProofError, match="must be empty"):
            verify_consistency(0, n, EMPTY_ROOT, ROOTS[n], [GARBAGE])
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])
    with pytest.raises(ProofError, match="size 0"):
        verify_consistency(0, 3, ROOTS[1], ROOTS[3], [])
    with pytest.raises(ProofError, match="is empty"):
        verify_consistency(3, 5, ROOTS[3], ROOTS[5], [])
    for bad in [(5, 3), (-1, 3)]:
        with pytest.raises(ProofError):
            consistency_proof(get, *bad)
        with pytest.raises(ProofError):
            verify_consistency(*bad, ROOTS[3], ROOTS[3], [])


def test_inclusion_edges() -> None:
    get = MemoryTree(HASHES).get
    for index, size in [(3, 3), (0, 0), (8, 8), (-1, 4)]:
        with pytest.raises(ProofError, match="not in a tree"):
            inclusion_proof(get, index, size)
        with pytest.raises(ProofError, match="not in a tree"):
            root_from_inclusion(index, size, HASHES[0], [])
    assert inclusion_proof(get, 0, 1) == []
    verify_inclusion(0, 1, HASHES[0], [], ROOTS[1])
    with pytest.raises(ProofError, match="leaf hash"):
        root_from_inclusion(0, 1, LEAVES[1], [])
    with pytest.raises(ProofError, match="33 bytes"):
        verify_inclusion(2, 3, HASHES[2], [ROOTS[2] + b"\x00"], ROOTS[3])


def test_helpers() -> None:
    assert [split_point(n) for n in range(2, 10)] == [1, 2, 2, 4, 4, 4, 4, 8]
    with pytest.raises(ProofError):
        split_point(1)
    assert perfect_subtrees(0, 0) == []
    assert perfect_subtrees(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert perfect_subtrees(4, 7) == [(1, 2), (0, 6)]
    assert perfect_subtrees(3, 8) == [(0, 3), (2, 1)]  # an unaligned start: the plain compact range
    tree = MemoryTree(HASHES)
    assert range_hash(tree.get, 4, 7) == root_of(HASHES[4:7])
    assert range_hash(tree.get, 2, 5) == root_of(HASHES[2:5])  # [2, 4) + [4, 5): both stored subtrees
    with pytest.raises(ProofError, match="not one the RFC"):
        range_hash(tree.get, 1, 4)
    for level, index in [(1, 4), (3, 1), (4, 0), (-1, 0), (0, -1)]:
        with pytest.raises(ProofError):
            MemoryTree(HASHES[:7]).get(level, index)
    assert merkle.node_hash(HASHES[0], HASHES[1]) == ROOTS[2]


def test_compact_range_api() -> None:
    tree = MemoryTree(HASHES[:7])
    cr = CompactRange.from_getter(tree.get, 7)
    assert cr.size == 7 and cr.root() == ROOTS[7]
    assert CompactRange(7, cr.hashes).root() == ROOTS[7]
    cr.hashes.clear()  # a copy: the range itself is untouched
    assert len(cr.hashes) == 3
    done = cr.append(HASHES[7])
    assert [(lv, i) for lv, i, _ in done] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert done[-1][2] == cr.root() == ROOTS[8] and cr.hashes == [ROOTS[8]]
    for size, hashes in [(7, cr.hashes), (0, [ROOTS[1]]), (-1, [])]:
        with pytest.raises(ValueError):
            CompactRange(size, hashes)
    with pytest.raises(ValueError):
        cr.append(b"short")


def test_generated_round_trip() -> None:
    tree = MemoryTree()
    roots = [EMPTY_ROOT]
    for size in range(1, 71):
        tree.append(leaf_hash(size.to_bytes(2, "big")))
        get = _bounded(tree, size)
        roots.append(tree_root(get, size))
        assert roots[-1] == root_of([tree.get(0, i) for i in range(size)])
        for index in range(size):
            verify_inclusion(index, size, tree.get(0, index), inclusion_proof(get, index, size), roots[size])
        for first in range(1, size + 1):
            verify_consistency(first, size, roots[first], roots[size], consistency_proof(get, first, size))


def test_compact_range_emits_the_stored_nodes() -> None:
    tree, cr = MemoryTree(), CompactRange()
    emitted: set[tuple[int, int, bytes]] = set()
    for size in range(1, 71):
        leaf = leaf_hash(size.to_bytes(2, "big"))
        tree.append(leaf)
        done = cr.append(leaf)
        assert [lv for lv, _, _ in done] == list(range(len(done))) and not emitted & set(done)
        emitted |= set(done)
        stored = {(lv, i, tree.get(lv, i)) for lv in range(size.bit_length()) for i in range(size >> lv)}
        assert emitted == stored, size
        assert cr.root() == tree_root(tree.get, size)
        assert CompactRange.from_getter(tree.get, size).hashes == cr.hashes
