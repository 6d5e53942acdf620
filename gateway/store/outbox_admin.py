"""Operator actions on delivered messages: put them back in the queue (the demo's proof that receivers
suppress duplicates, and the way to resend after a partner lost what it acknowledged)."""

from __future__ import annotations

from hotline_gateway.store.sqlite import SqliteStore, _Writer


async def requeue_delivered(store: SqliteStore, message_ids: list[str]) -> int:
    """Queue these delivered messages again, due now, under their own message ids (receivers deduplicate)."""
    def op(w: _Writer) -> int:
        marks = ",".join("?" * len(message_ids))
        return int(w.conn.execute(f"UPDATE deliveries SET state='queued', next_attempt_at=0 WHERE state='delivered'"
                                  f" AND message_id IN ({marks})", message_ids).rowcount)

    return await store.write(op) if message_ids else 0
