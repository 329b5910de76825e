"""Merkle tree hashing and proofs of RFC 9162 (Certificate Transparency v2), §2.1.

Pure functions over hashes, no database: the tree of ``n`` leaves is reached through a
:data:`Subtree` callable that returns the hash of the perfect subtree ``(level, index)``
(the leaves ``index * 2**level`` .. ``(index + 1) * 2**level - 1``), so the log can keep
those hashes in a table and answer any proof with O(log n) look-ups.

- leaf hash ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``
  (§2.1.1), which keeps a leaf from being passed off as a node (second pre-images);
- inclusion proof ``PATH(m, D[n])`` (§2.1.3.1) and its check (§2.1.3.2);
- consistency proof ``PROOF(m, D[n])`` (§2.1.4.1) and its check (§2.1.4.2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

Subtree = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) (§2.1.1)


class ProofError(ValueError):
    """A proof that does not hold (or a request for one that cannot exist)."""


def leaf_hash(data: bytes) -> bytes:
    """``MTH({d}) = SHA-256(0x00 || d)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(subtree: Subtree, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` where ``start`` is aligned as in the RFC's recursion."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return subtree(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(range_hash(subtree, start, start + k), range_hash(subtree, start + k, end))


def root(subtree: Subtree, size: int) -> bytes:
    """The root hash of the first ``size`` leaves."""
    return range_hash(subtree, 0, size)


def inclusion_path(subtree: Subtree, index: int, size: int) -> list[bytes]:
    """``PATH(index, D[size])``: the audit path of leaf ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            path.append(range_hash(subtree, start + k, end))
            end = start + k
        else:
            path.append(range_hash(subtree, start, start + k))
            start += k
    path.reverse()  # the RFC lists the path from the leaf upwards
    return path


def consistency_path(subtree: Subtree, first: int, second: int) -> list[bytes]:
    """``PROOF(first, D[second])``: shows the tree of ``first`` leaves is a prefix."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from {first} to {second} leaves")
    proof: list[bytes] = []
    start, end, m, complete = 0, second, first, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(range_hash(subtree, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(subtree, start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        proof.append(range_hash(subtree, start, end))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` lead from ``leaf`` (a leaf hash) to ``root_hash``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``(first, first_root)`` a prefix of ``(second, ...)``?"""
    if first == second:
        return not path and first_root == second_root
    if not 0 < first < second or not path:
        return False
    proof = list(path)
    if first & (first - 1) == 0:  # an exact power of two: the old root is a node
        proof.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class CompactRange:
    """Roots of a growing tree in O(log n) memory: the perfect subtrees on its right edge.

    Used to recompute the root at every checkpoint while streaming all leaves once.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (level, hash), levels decreasing

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash."""
        level, h = 0, leaf
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            h = node_hash(left, h)
            level += 1
        self._stack.append((level, h))
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add several leaf hashes in order."""
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """``MTH`` of every leaf added so far."""
        if not self._stack:
            return EMPTY_ROOT
        h = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h


class NodeCache:
    """A :data:`Subtree` over a fetch function, remembering what it fetched or was told."""

    def __init__(self, fetch: Subtree) -> None:
        self._fetch = fetch
        self._known: dict[tuple[int, int], bytes] = {}

    def put(self, level: int, index: int, value: bytes) -> None:
        """Remember a node (e.g. one just computed)."""
        self._known[(level, index)] = value

    def __call__(self, level: int, index: int) -> bytes:
        """The hash of node ``(level, index)``."""
        key = (level, index)
        found = self._known.get(key)
        if found is None:
            found = self._fetch(level, index)
            self._known[key] = found
        return found


def new_nodes(old_size: int, new_size: int, nodes: NodeCache) -> list[tuple[int, int, bytes]]:
    """The perfect subtrees (level >= 1) completed by growing from ``old_size`` to
    ``new_size`` leaves, as ``(level, index, hash)``, lower levels first.

    ``nodes`` must answer every node that already existed and every leaf (level 0);
    each node made here is remembered in it, so the next level finds its children.
    """
    made: list[tuple[int, int, bytes]] = []
    level = 1
    while (1 << level) <= new_size:
        width = 1 << level
        first = old_size // width  # the first index not complete before
        for index in range(first, new_size // width):
            h = node_hash(nodes(level - 1, 2 * index), nodes(level - 1, 2 * index + 1))
            nodes.put(level, index, h)
            made.append((level, index, h))
        level += 1
    return made
