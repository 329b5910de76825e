"""RFC 9162 §2.1 Merkle proofs against a literal transcription of the RFC's definitions."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from medsign.audit import merkle


def _mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as §2.1.1 defines it (leaves are the data entries)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of §2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if b else [_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_subproof(m, leaves[:k], b), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def _subtree_of(leaves: list[bytes]) -> merkle.Subtree:
    def subtree(level: int, index: int) -> bytes:
        width = 1 << level
        return _mth(leaves[index * width : (index + 1) * width])

    return subtree


def _leaves(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_paths_and_roots_match_the_rfc(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    subtree = _subtree_of(leaves)
    root = merkle.root(subtree, n)
    assert root == _mth(leaves)
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    path = merkle.inclusion_path(subtree, m, n)
    assert path == _path(m, leaves)
    leaf = merkle.leaf_hash(leaves[m])
    assert merkle.verify_inclusion(leaf, m, n, path, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), m, n, path, root)
    if n > 1:
        assert not merkle.verify_inclusion(leaf, (m + 1) % n, n, path, root)
    first = data.draw(st.integers(min_value=1, max_value=n))
    proof = merkle.consistency_path(subtree, first, n)
    assert proof == _subproof(first, leaves, True)
    first_root = _mth(leaves[:first])
    assert merkle.verify_consistency(first, n, first_root, root, proof)
    if first < n:
        other = _mth([b"rewritten", *leaves[1:first]])
        assert not merkle.verify_consistency(first, n, other, root, proof)


def test_compact_range_and_new_nodes_build_the_same_tree() -> None:
    leaves = _leaves(37)
    compact = merkle.CompactRange()
    stored: dict[tuple[int, int], bytes] = {}
    size = 0
    for batch in (1, 2, 5, 8, 13, 8):
        for i in range(size, size + batch):
            stored[(0, i)] = merkle.leaf_hash(leaves[i])
            compact.append(stored[(0, i)])
        cache = merkle.NodeCache(lambda level, index: stored[(level, index)])
        for level, index, h in merkle.new_nodes(size, size + batch, cache):
            stored[(level, index)] = h
        size += batch
        assert compact.root() == _mth(leaves[:size])
        assert merkle.root(lambda lv, ix: stored[(lv, ix)], size) == _mth(leaves[:size])
    assert merkle.CompactRange().root() == merkle.EMPTY_ROOT
