"""Merkle tree hashes and inclusion proofs as RFC 9162 §2.1 defines them (Certificate Transparency v2).

A batch receipt signs one tree head over every message it acknowledges; each message's own receipt is
that signature plus the message's audit path, so it stays provable on its own (``crypto.receipts``).
The construction is the RFC's, byte for byte — leaf ``SHA-256(0x00 || data)``, node
``SHA-256(0x01 || left || right)``, split at the largest power of two below the size — so any RFC 9162
verifier (Go's transparency-dev/merkle, pymerkle, Sigstore's clients) checks our proofs; the tests
hold it to the reference vectors and to pymerkle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from hotline_gateway.core.errors import BadSignature

HASH_BYTES = 32
#: a batch is bounded by the partner's body limit long before this; a larger claimed size is refused
MAX_TREE_SIZE = 1 << 20
MAX_PATH = 20


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """A tree over known leaf hashes, each subtree hashed once, so every leaf's path costs only lookups."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a tree needs at least one leaf")
        self.size = len(leaves)
        self._leaves = list(leaves)
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.root = self._hash(0, self.size)

    def _hash(self, lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return self._leaves[lo]
        k = _split(hi - lo)
        digest = _node(self._hash(lo, lo + k), self._hash(lo + k, hi))
        self._nodes[(lo, hi)] = digest
        return digest

    def _get(self, lo: int, hi: int) -> bytes:
        return self._leaves[lo] if hi - lo == 1 else self._nodes[(lo, hi)]

    def path(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index`` (0-based), from the leaf's sibling up (RFC 9162 §2.1.3.1)."""
        if not 0 <= index < self.size:
            raise ValueError(f"leaf {index} is outside a tree of {self.size}")
        siblings: list[bytes] = []
        lo, hi = 0, self.size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                siblings.append(self._get(lo + k, hi))
                hi = lo + k
            else:
                siblings.append(self._get(lo, lo + k))
                lo += k
        siblings.reverse()
        return siblings


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: raise unless ``path`` proves ``leaf`` is leaf ``index`` of the tree of ``size``
    leaves whose head is ``root``."""
    if not 0 <= index < size <= MAX_TREE_SIZE or len(path) > MAX_PATH:
        raise BadSignature("inclusion proof is out of range", code="receipt_mismatch")
    if any(len(p) != HASH_BYTES for p in path) or len(leaf) != HASH_BYTES or len(root) != HASH_BYTES:
        raise BadSignature("inclusion proof has a hash of the wrong length", code="receipt_mismatch")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise BadSignature("inclusion proof is longer than the tree is deep", code="receipt_mismatch")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise BadSignature("inclusion proof does not lead to the signed tree head", code="receipt_mismatch")
