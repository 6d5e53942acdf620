"""Adding actions to a stored case's items, inside whatever transaction the caller holds."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from hotline_gateway.core.takedown import merge_actions

Added = list[tuple[str, dict[str, Any]]]


def apply_actions(conn: sqlite3.Connection, case_id: str,
                  updates: Iterable[tuple[str, Mapping[str, Any]]]) -> Added | None:
    """Merge actions into the stored case document; None when there is no such case."""
    row = conn.execute("SELECT doc FROM cases WHERE case_id=?", (case_id,)).fetchone()
    if row is None:
        return None
    doc = orjson.loads(row[0])
    added = merge_actions(doc, updates)
    if added:
        conn.execute("UPDATE cases SET doc=?, updated_at=? WHERE case_id=?",
                     (orjson.dumps(doc, option=orjson.OPT_SORT_KEYS), time.time(), case_id))
    return added
