"""The audit hash chain: each entry commits to the previous one, so any change, removal or reordering shows.

``entry_hash = sha256(prev_hash || canonical JSON of the entry)``. The first entry's prev_hash is 64 zeros.
An entry that records a case document's digest (``doc_sha256``) hashes it too; entries written before
the digest existed hash exactly as they did, so an old chain still verifies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hotline_gateway.core.errors import GatewayError
from hotline_gateway.store.records import AuditEntry

GENESIS = "0" * 64
FIELDS = ("seq", "at", "kind", "message_id", "case_id", "partner", "payload_sha256", "signatures", "detail")


class AuditBroken(GatewayError):
    """The chain does not verify; ``seq`` is the first entry that is wrong or missing."""

    code = "audit_broken"

    def __init__(self, seq: int, reason: str) -> None:
        self.seq = seq
        super().__init__(f"audit entry {seq}: {reason}")


def entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    fields = {k: row[k] for k in FIELDS}
    if row.get("doc_sha256") is not None:
        fields["doc_sha256"] = row["doc_sha256"]
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainSummary:
    entries: int
    head: str


def chain_rows(entries: Sequence[AuditEntry], seq: int, head: str, at: str) -> list[dict[str, Any]]:
    """The rows that append ``entries`` after the entry ``seq`` whose hash is ``head``, stamped ``at``."""
    rows = []
    for e in entries:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq, "at": at, "kind": e.kind, "message_id": e.message_id, "case_id": e.case_id,
            "partner": e.partner, "payload_sha256": e.payload_sha256,
            "signatures": orjson.dumps(e.signatures).decode(), "detail": e.detail, "doc_sha256": e.doc_sha256,
            "prev_hash": head,
        }
        row["hash"] = head = entry_hash(head, row)
        rows.append(row)
    return rows


class ChainWalker:
    """Verifies the chain one row at a time, in seq order, so a store can stream a long chain in pages."""

    def __init__(self) -> None:
        self.prev, self.expected_seq, self.count = GENESIS, 1, 0

    def feed(self, row: dict[str, Any]) -> None:
        seq = int(row["seq"])
        if seq != self.expected_seq:
            raise AuditBroken(self.expected_seq, f"missing (next entry found is {seq})")
        if row["prev_hash"] != self.prev:
            raise AuditBroken(seq, "does not follow the entry before it (removed or reordered)")
        if entry_hash(self.prev, row) != row["hash"]:
            raise AuditBroken(seq, "content changed since it was written")
        self.prev, self.expected_seq, self.count = row["hash"], seq + 1, self.count + 1

    def summary(self) -> ChainSummary:
        return ChainSummary(self.count, self.prev)


def verify_chain(rows: Iterable[dict[str, Any]]) -> ChainSummary:
    """Walk the chain in seq order; raises AuditBroken naming the first bad entry."""
    walker = ChainWalker()
    for row in rows:
        walker.feed(row)
    return walker.summary()
