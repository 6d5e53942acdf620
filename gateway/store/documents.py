"""Stored case documents: one canonical serialisation and its digest, the same in every store, so the
digest the audit chain records for a document does not depend on where it is kept."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def dump_doc(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def doc_digest(doc: bytes) -> str:
    return hashlib.sha256(doc).hexdigest()
