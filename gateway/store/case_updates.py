"""Store operations of the takedown lifecycle: actions added to stored cases, notices withdrawn.

Each runs as one transaction of the store's writer, with its audit entries, so a recorded notice,
its delivery's closing and the case's new action are all there or none is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from hotline_gateway.core.takedown import removed_items
from hotline_gateway.store.actions import Added, apply_actions
from hotline_gateway.store.records import AuditEntry, Delivery, DeliveryState
from hotline_gateway.store.sqlite import SqliteStore, _now_iso, _Writer, close_delivered

Action = Mapping[str, Any]


def _apply(w: _Writer, case_id: str, updates: Iterable[tuple[str, Action]]) -> Added | None:
    return apply_actions(w.conn, case_id, updates)


async def add_actions(store: SqliteStore, case_id: str, updates: Sequence[tuple[str, Action]], *,
                      source: str, message_id: str | None = None) -> Added | None:
    """Record actions on a stored case's items; None when there is no such case."""

    def op(w: _Writer) -> Added | None:
        added = _apply(w, case_id, updates)
        if added:
            detail = "; ".join(f"{item_id} {a['type']}" for item_id, a in added)
            w.append_audit([AuditEntry("case.updated", message_id=message_id, case_id=case_id,
                                       partner=None if source == "local" else source, detail=detail)], _now_iso())
        return added

    return await store.write(op)


async def deliver_with_notices(store: SqliteStore, results: list[tuple[Delivery, str]], audit: list[AuditEntry],
                               notices: list[tuple[Delivery, Action]]) -> None:
    """Close deliveries and, in the same transaction, record on their items that a notice went out."""

    def op(w: _Writer) -> None:
        close_delivered(w, results, audit)
        for d, action in notices:
            _apply(w, d.case_id, [(item_id, action) for item_id in d.item_ids])

    await store.write(op)


async def withdraw_removed(store: SqliteStore, deliveries: list[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
    """Split claimed notices into those still to send and those withdrawn because every item they are
    about has been reported removed since they were queued (the withdrawn ones are closed here)."""

    def op(w: _Writer) -> tuple[list[Delivery], list[Delivery]]:
        keep: list[Delivery] = []
        gone: list[Delivery] = []
        cache: dict[str, set[str]] = {}
        for d in deliveries:
            if d.case_id not in cache:
                row = w.conn.execute("SELECT doc FROM cases WHERE case_id=?", (d.case_id,)).fetchone()
                cache[d.case_id] = removed_items(orjson.loads(row[0])) if row else set()
            (gone if d.item_ids and set(d.item_ids) <= cache[d.case_id] else keep).append(d)
        if gone:
            reason = "withdrawn: every item was reported removed before the notice went out"
            w.conn.executemany("UPDATE deliveries SET state=?, last_error=? WHERE message_id=?",
                               [(DeliveryState.CANCELLED.value, reason, d.message_id) for d in gone])
            w.append_audit([AuditEntry("message.withdrawn", message_id=d.message_id, case_id=d.case_id,
                                       partner=d.partner, payload_sha256=d.payload_sha256, detail=reason)
                            for d in gone], _now_iso())
        return keep, gone

    return await store.write(op)
