"""Stored case documents: one canonical serialisation and its digest, the same in every store, so the
digest the audit chain records for a document does not depend on where it is kept."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from hotline_gateway.crypto.sealing import Unsealable, unseal


def dump_doc(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def doc_digest(doc: bytes) -> str:
    return hashlib.sha256(doc).hexdigest()


def sealed_payload_problems(sealed: Sequence[tuple[str, str, str, bytes]], keys: Mapping[str, bytes]) -> list[str]:
    """Sealed payloads (message id, case id, recorded digest, blob) held against their digests, opened with
    their cases' keys; an erased key is no problem (the chain records the erasure)."""
    problems = []
    for message_id, case_id, declared, blob in sealed:
        if case_id not in keys:
            continue
        try:
            opened = unseal(keys[case_id], blob, case_id)
        except Unsealable:
            problems.append(f"message {message_id}: sealed payload does not open with its case's key")
            continue
        if hashlib.sha256(opened).hexdigest() != declared:
            problems.append(f"message {message_id}: payload differs from its recorded digest")
    return problems
