"""RFC 9162 Merkle tree heads and audit paths (the batch receipts' proofs), held to the reference vectors
of transparency-dev/merkle (Go, the Certificate Transparency reference) and to pymerkle, an independent
Python implementation."""

from __future__ import annotations

import base64
import os

import pytest
from pymerkle import InmemoryTree

from hotline_gateway.core.errors import BadSignature
from hotline_gateway.crypto.merkle import Tree, leaf_hash, verify_inclusion

# transparency-dev/merkle testonly/constants.go: leaf inputs, the root of each prefix, reference paths
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
ROOTS = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
PATHS = {
    (0, 1): [],
    (0, 2): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    (1, 2): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
# compact/range_test.go TestGetRootHashGolden: leaf i is i as two bytes little-endian
GOLDEN = {10: "VjWMPSYNtCuCNlF/RLnQy6HcwSk6CIipfxm+hettA+4=", 100: "dUh9hYH88p0CMoHkdr1wC2szbhcLAXOejWpINIooKUY=",
          255: "SmdsuKUqiod3RX2jyF2M6JnbdE4QuTwwipfAowI4/i0="}


def test_tree_heads_equal_the_reference_vectors_for_every_size() -> None:
    for size, root in enumerate(ROOTS, start=1):
        assert Tree([leaf_hash(x) for x in LEAVES[:size]]).root.hex() == root
    for size, root in GOLDEN.items():
        tree = Tree([leaf_hash(i.to_bytes(2, "little")) for i in range(size)])
        assert base64.b64encode(tree.root).decode() == root


def test_audit_paths_equal_the_reference_paths_and_verify() -> None:
    for (index, size), path in PATHS.items():
        tree = Tree([leaf_hash(x) for x in LEAVES[:size]])
        assert [h.hex() for h in tree.path(index)] == path
        verify_inclusion(leaf_hash(LEAVES[index]), index, size, tree.path(index), tree.root)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100, 101, 255])
def test_heads_and_paths_equal_pymerkles_for_random_leaves(size: int) -> None:
    leaves = [os.urandom(40) for _ in range(size)]
    theirs = InmemoryTree(algorithm="sha256")
    for leaf in leaves:
        theirs.append_entry(leaf)
    ours = Tree([leaf_hash(x) for x in leaves])
    assert ours.root == theirs.get_root()
    for index in range(size):
        path = ours.path(index)
        assert path == theirs.prove_inclusion(index + 1).path[1:]  # pymerkle counts from 1 and lists the leaf first
        verify_inclusion(leaf_hash(leaves[index]), index, size, path, ours.root)


def test_every_corruption_of_a_proof_is_refused() -> None:
    """The probes transparency-dev/merkle runs against a verifier: wrong index, size, leaf or root,
    garbage before or after, a flipped bit, a hash removed or inserted."""
    tree = Tree([leaf_hash(x) for x in LEAVES])
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    empty_root = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    for index in range(8):
        leaf, path, root = leaf_hash(LEAVES[index]), tree.path(index), tree.root
        probes = [(index - 1, 8, leaf, path, root), (index + 1, 8, leaf, path, root), (index ^ 2, 8, leaf, path, root),
                  (index, 16, leaf, path, root), (index, 4, leaf, path, root), (index, 8, leaf_hash(b"x"), path, root),
                  (index, 8, leaf, path, empty_root), (index, 8, leaf, path, some),
                  (index, 8, leaf, [*path, b""], root), (index, 8, leaf, [*path, root], root),
                  (index, 8, leaf, [b"", *path], root), (index, 8, leaf, [root, *path], root),
                  (index, 8, leaf, path[:-1], root), (index, 8, leaf, [path[0], some, *path[1:]], root)]
        probes += [(index, 8, leaf, [h if i != n else bytes([h[0] ^ 8]) + h[1:] for i, h in enumerate(path)], root)
                   for n in range(len(path))]
        for i, size, bad_leaf, bad_path, bad_root in probes:
            with pytest.raises(BadSignature):
                verify_inclusion(bad_leaf, i, size, bad_path, bad_root)
