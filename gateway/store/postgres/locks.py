"""Advisory lock keys of the PostgreSQL store: (namespace, key) pairs, so they never collide with the
locks of another application sharing the server."""

from __future__ import annotations

import zlib

#: "hlgw" as a signed 32-bit integer: the first half of every advisory lock key of ours
NAMESPACE = 0x686C6777 - (1 << 32) if 0x686C6777 >= (1 << 31) else 0x686C6777
#: transaction-level: one schema migration at a time
MIGRATE = 1
#: transaction-level: one audit chain append at a time, across every node
AUDIT = 2
#: session-level: the node that runs the singletons
LEADER = 3
#: transaction-level: creating the vault's tables
VAULT = 4
#: session-level, second namespace: a node's name, held while its process runs
NODE_NAMESPACE = NAMESPACE + 1


def node_key(node: str) -> int:
    """A node name as a signed 32-bit key (crc32; two names colliding would only make one wait)."""
    value = zlib.crc32(node.encode())
    return value - (1 << 32) if value >= (1 << 31) else value
