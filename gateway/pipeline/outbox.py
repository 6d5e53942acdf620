"""Outbox policy: what happens to a delivery after an attempt — done, retried later, or dead-lettered.

Retries back off exponentially with full jitter (so a partner coming back is not hit by every
gateway at once), and stop at the delivery's deadline, when it becomes a dead letter with its last
error; ``hotline-gateway retry`` puts dead letters back in the queue.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

from hotline_gateway.config import DeliverySettings
from hotline_gateway.core.errors import DeliveryError, PermanentDeliveryError
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.model import ActionType
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.metrics import Metrics
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import AuditEntry, Delivery
from hotline_gateway.transports.base import Outcome

log = get_logger("hotline_gateway.outbox")


def backoff(attempts: int, settings: DeliverySettings, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: full jitter under an exponential cap."""
    cap = min(settings.max_delay_s, settings.base_delay_s * (2 ** max(attempts - 1, 0)))
    return settings.base_delay_s / 2 + (rng or random).uniform(0, cap)


async def record(store: Store, outcomes: list[Outcome], settings: DeliverySettings, *,
                 notice: ActionType | None = None, by: str = "", metrics: Metrics | None = None) -> tuple[int, int]:
    """Write the results of one attempt; returns (delivered, failed).

    A delivered notice (to a host, a platform, the police) is recorded as an action on the items it
    was about, in the same transaction, so the takedown clock starts exactly when the notice landed.
    """
    done = [(o.delivery, o.receipt) for o in outcomes if o.receipt is not None]
    if done:
        audit = [AuditEntry("message.delivered", message_id=d.message_id, case_id=d.case_id, partner=d.partner,
                            payload_sha256=d.payload_sha256, signatures=[r or ""]) for d, r in done]
        results = [(d, r) for d, r in done if r is not None]
        notices: list[tuple[Delivery, dict[str, str]]] = []
        if notice is not None:
            action = {"type": notice.value, "at": format_timestamp(datetime.now(UTC)), "by": by}
            # a retraction or correction is not a notice: the takedown clock is the original's
            notices = [(d, action) for d, _ in results if d.notice_id is None]
        await store.mark_delivered(results, audit, notices)
        for o in outcomes:
            if o.receipt is not None and metrics is not None:
                metrics.messages_out.labels(o.delivery.partner, o.delivery.format, "delivered").inc()
                metrics.latency.labels(o.delivery.partner).observe(max(0.0, time.time() - o.delivery.created_at))
            if o.receipt is not None:
                log.info("message.delivered", message_id=o.delivery.message_id, case_id=o.delivery.case_id,
                         partner=o.delivery.partner, attempts=o.delivery.attempts, duplicate=o.duplicate,
                         latency_ms=round((time.time() - o.delivery.created_at) * 1000, 1))
    failed = [o for o in outcomes if o.error is not None]
    # written together: the store commits writes that queue up together in one transaction
    await asyncio.gather(*(fail(store, [o.delivery], o.error, settings, metrics=metrics)
                           for o in failed if o.error is not None))
    return len(done), len(failed)


async def fail(store: Store, deliveries: list[Delivery], error: DeliveryError,
               settings: DeliverySettings, *, metrics: Metrics | None = None) -> None:
    """Schedule a retry for each delivery, or dead-letter it when retrying cannot help or time is up."""
    now = time.time()
    retry: dict[float, list[Delivery]] = {}
    dead: list[Delivery] = []
    for d in deliveries:
        at = now + backoff(d.attempts, settings)
        if isinstance(error, PermanentDeliveryError) or at > d.deadline_at:
            dead.append(d)
        else:
            retry.setdefault(round(at, 3), []).append(d)
    reason = f"{error.code}: {error.message}"
    if metrics is not None:
        for group, outcome in ([d for g in retry.values() for d in g], "retry"), (dead, "dead"):
            for d in group:
                metrics.messages_out.labels(d.partner, d.format, outcome).inc()
    # Each retry time is its own write (the jitter makes them differ), queued together so that the store
    # commits a failed batch in one transaction: awaited one by one, a batch of 100 cost 100 commits.
    writes = [store.mark_failed(group, reason, retry_at=at, audit=[]) for at, group in retry.items()]
    why = reason if isinstance(error, PermanentDeliveryError) else f"deadline passed; last error {reason}"
    if dead:
        writes.append(store.mark_failed(
            dead, why, retry_at=None,
            audit=[AuditEntry("message.dead_lettered", message_id=d.message_id, case_id=d.case_id, partner=d.partner,
                              payload_sha256=d.payload_sha256, detail=why[:500]) for d in dead],
        ))
    await asyncio.gather(*writes)
    for at, group in retry.items():
        for d in group:
            log.info("message.retry", message_id=d.message_id, case_id=d.case_id, partner=d.partner,
                     attempts=d.attempts, retry_in_s=round(at - now, 2), error=error.code)
    for d in dead:
        log.warning("message.dead_lettered", message_id=d.message_id, case_id=d.case_id, partner=d.partner,
                    attempts=d.attempts, error=error.code)
