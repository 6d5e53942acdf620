"""Prometheus metrics of one gateway, in a registry of its own (several gateways share a test process).

Counters move where things happen (intake, delivery outcomes, refusals); queue depth, oldest queued
age and dead letters are read from the store at scrape time, so they are right even after a restart.
Event-loop lag is sampled all the time by ``LoopLagMonitor``: every handler and the delivery worker
share one loop, so a GC pause or CPU work on it delays them all, and this is where it shows.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import PartnerStatus

#: finer between 10 and 50 ms, where a loaded gateway's worst lags sit and an alert on 20 ms would fire
LOOP_LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter("hotline_messages_in_total", "Messages and cases received",
                                   ["partner", "format", "outcome"], registry=self.registry)
        self.messages_out = Counter("hotline_messages_out_total", "Delivery attempts by outcome",
                                    ["partner", "format", "outcome"], registry=self.registry)
        self.rejections = Counter("hotline_rejections_total", "Requests refused, by problem code",
                                  ["code"], registry=self.registry)
        self.latency = Histogram("hotline_delivery_latency_seconds", "From acceptance to the partner's receipt",
                                 ["partner"], registry=self.registry,
                                 buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 6 * 3600, 86400))
        self.queued = Gauge("hotline_queue_depth", "Deliveries waiting", ["partner"], registry=self.registry)
        self.oldest = Gauge("hotline_queue_oldest_seconds", "Age of the oldest waiting delivery", ["partner"],
                            registry=self.registry)
        self.dead = Gauge("hotline_dead_letters", "Deliveries given up on, waiting for an operator", ["partner"],
                          registry=self.registry)
        self.in_flight = Gauge("hotline_in_flight", "Deliveries being sent now", ["partner"], registry=self.registry)
        self.key_not_after = Gauge("hotline_signing_key_not_after_seconds",
                                   "End of the validity window of the key we sign with (Unix time): alert before it",
                                   registry=self.registry)
        self.leader = Gauge("hotline_leader", "1 on the node that runs the singletons (work-queue poller, "
                            "checkpoint signer, housekeeping), else 0", registry=self.registry)
        self.lifecycle_overdue = Gauge("hotline_lifecycle_overdue", "Retractions and corrections no destination has "
                                       "acknowledged within [delivery] retraction_ack_s", ["partner"],
                                       registry=self.registry)
        self.loop_lag = Histogram("hotline_loop_lag_seconds", "How late the event loop woke a timer: GC pauses and "
                                  "CPU work on the loop delay every request and delivery by this much",
                                  registry=self.registry, buckets=LOOP_LAG_BUCKETS)

    async def render(self, store: Store, partners: Iterable[str] = (), *, ack_s: float = 24 * 3600) -> bytes:
        """The text exposition; every configured partner has its gauges, at 0 before any traffic."""
        now = time.time()
        stats = await store.partner_status()
        overdue = collections.Counter(d.partner for d in await store.lifecycle_unacknowledged(now - ack_s))
        for partner in sorted(set(partners) | set(stats) | set(overdue)):
            self.lifecycle_overdue.labels(partner).set(overdue.get(partner, 0))
        for partner in sorted(set(partners) | set(stats)):
            st = stats.get(partner) or PartnerStatus(partner)
            self.queued.labels(partner).set(st.queued)
            self.in_flight.labels(partner).set(st.in_flight)
            self.dead.labels(partner).set(st.dead)
            self.oldest.labels(partner).set(now - st.oldest_queued_at if st.oldest_queued_at else 0)
        return generate_latest(self.registry)


class LoopLagMonitor:
    """Sleeps ``interval`` over and over on the loop it is started on, and records how late it woke."""

    def __init__(self, histogram: Histogram, interval_s: float = 0.05) -> None:
        self.histogram = histogram
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> LoopLagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-monitor")
        return self

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self.interval_s)
            self.histogram.observe(max(0.0, loop.time() - asked - self.interval_s))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
