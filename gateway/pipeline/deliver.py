"""Deliver: a worker drains the outbox, a few lanes per partner, each behind that partner's circuit breaker.

A lane claims a batch of due deliveries, sends it through the partner's transport and records the
outcome. Intake rings the partner's doorbell, which wakes one idle lane (``doorbell``), so a fresh case
leaves at once rather than at the next poll. When a partner keeps failing, its breaker opens and no lane
calls it until the reset time has passed; then one probe decides whether it closes again. On shutdown,
lanes finish the batch in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import Congested, DeliveryError, PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.takedown import NOTICE_ACTION
from hotline_gateway.metrics import Metrics
from hotline_gateway.pipeline.accept import NOTICE_KINDS
from hotline_gateway.pipeline.circuit import Circuit, CircuitBreaker
from hotline_gateway.pipeline.doorbell import Doorbell
from hotline_gateway.pipeline.flow import Flow
from hotline_gateway.pipeline.outbox import fail, record
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.base import Transport

log = get_logger("hotline_gateway.deliver")
#: how long a retraction or correction waits before looking again whether the message it follows has gone
HOLD_S = 0.5


class DeliveryWorker:
    def __init__(self, config: Config, store: Store, transports: dict[str, Transport],
                 metrics: Metrics | None = None) -> None:
        self.config = config
        self.metrics = metrics
        self.store = store
        self.transports = transports
        self.breakers = {
            p: CircuitBreaker(config.delivery.circuit_failures, config.delivery.circuit_reset_s)
            for p in config.partners
        }
        self._bells = {p: Doorbell() for p in config.partners}
        settings = config.delivery
        self.flows = {p: Flow(window=float(settings.concurrency), start=float(settings.concurrency),
                              ceiling=max(settings.concurrency, settings.max_concurrency))
                      for p in config.partners}
        self._tasks: list[asyncio.Task[None]] = []
        self._published: dict[str, Circuit] = {}
        self._running = False
        self._busy = 0

    @property
    def running(self) -> bool:
        """Started, not stopping, and every lane still alive (a lane ends only when cancelled)."""
        return self._running and not any(t.done() for t in self._tasks)

    def wake(self, partner: str) -> None:
        bell = self._bells.get(partner)
        if bell is not None:
            bell.ring()

    async def start(self) -> None:
        """Start the lanes; each partner's breaker starts where the store says it was (an open circuit
        stays open until its reset time has passed and a probe succeeds), so what operators see after a
        restart is the truth, not an assumption."""
        for pid, (circuit, failures) in (await self.store.circuits()).items():
            breaker = self.breakers.get(pid)
            if breaker is None:
                continue
            try:
                self._published[pid] = Circuit(circuit)
            except ValueError:
                continue
            if circuit == Circuit.OPEN.value:
                breaker.failures = max(failures, breaker.threshold)
                breaker.opened_at = time.monotonic()
        self._running = True
        for partner in self.config.partners.values():
            if partner.transport not in self.transports:  # a pull transport (TAXII): the partner fetches
                log.warning("partner.no_transport", partner=partner.id, transport=partner.transport)
                continue
            # As many lanes as the window may ever allow; the partner's Flow decides how many are sending.
            for lane in range(self.flows[partner.id].ceiling):
                self._tasks.append(asyncio.create_task(self._lane(partner, lane), name=f"deliver-{partner.id}-{lane}"))

    async def stop(self, timeout: float) -> None:
        """Stop claiming work; give batches in flight ``timeout`` seconds to finish."""
        self._running = False
        for bell in self._bells.values():
            bell.ring_all()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()

    async def _idle(self, partner: Partner, bell: Doorbell) -> None:
        if bell.rung:  # work came in meanwhile: claim it, without first asking when the next row is due
            return
        next_due = await self.store.next_due(partner.id)
        longest = self.config.delivery.poll_interval_s
        delay = longest if next_due is None else min(max(next_due - time.time(), 0.005), longest)
        if self._running:  # stop() rings before it returns: a lane past this check is woken by it
            await bell.wait(delay)

    async def _publish(self, partner: str, breaker: CircuitBreaker) -> None:
        """Record circuit changes in the store, so ``status`` can show them from another process."""
        state = Circuit.OPEN if breaker.failures >= breaker.threshold else Circuit.CLOSED
        if self._published.get(partner, Circuit.CLOSED) is not state:
            self._published[partner] = state
            log.warning("circuit.changed", partner=partner, circuit=state.value, failures=breaker.failures)
            await self.store.set_circuit(partner, state.value, breaker.failures)

    async def _lane(self, partner: Partner, lane: int) -> None:
        transport = self.transports[partner.transport]
        breaker = self.breakers[partner.id]
        bell = self._bells[partner.id]
        flow = self.flows[partner.id]
        settings = self.config.delivery
        batch_size = min(settings.batch_size, transport.max_batch)
        while self._running:
            try:
                if not breaker.allow():
                    await bell.wait(max(breaker.wait_s(), 0.01))
                    continue
                await flow.acquire()
                try:
                    bell.clear()
                    batch = await self.store.claim_due(partner.id, time.time(), batch_size)
                    if not batch:
                        breaker.probing = False
                    else:
                        if len(batch) == batch_size:
                            bell.ring()  # there may be more than one batch due: one more lane joins in
                        started = time.monotonic()
                        congested = await self._send(partner, transport, breaker, batch)
                        if congested:
                            flow.congested()
                        else:
                            flow.answered(time.monotonic() - started, full=len(batch) == batch_size)
                finally:
                    await flow.release()
                if len(batch) < batch_size:
                    # An empty or part-filled claim took every due row there was, so a lane claims again only
                    # when rung (what arrived while it was sending rang the bell, which is kept) or when
                    # ``next_due`` says a row is due: claiming again at once came back empty whenever nothing
                    # had arrived, and was followed by that ``next_due`` read anyway.
                    await self._idle(partner, bell)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lane.failed", partner=partner.id, lane=lane)
                await asyncio.sleep(1.0)

    async def _failed(self, partner: Partner, breaker: CircuitBreaker, batch: list[Delivery],
                      exc: DeliveryError) -> None:
        breaker.failure()
        log.info("batch.failed", partner=partner.id, size=len(batch), error=exc.code, circuit=breaker.state.value)
        await fail(self.store, batch, exc, self.config.delivery, metrics=self.metrics)
        await self._publish(partner.id, breaker)

    async def _send(self, partner: Partner, transport: Transport, breaker: CircuitBreaker,
                    batch: list[Delivery]) -> bool:
        """Send one claimed batch and record the outcome; True when the partner showed congestion."""
        started = time.perf_counter()
        # Retractions: a notice about items taken back is withdrawn, and a retraction or correction waits
        # while an earlier message about its case is still on its way to this partner.
        batch, _, withdrawn = await self.store.screen(batch, hold_s=HOLD_S)
        if partner.kind in NOTICE_KINDS:
            batch, removed = await self.store.withdraw_removed(batch)
            withdrawn += removed
        for d in withdrawn:
            log.info("message.withdrawn", message_id=d.message_id, case_id=d.case_id, partner=partner.id)
            if self.metrics is not None:
                self.metrics.messages_out.labels(partner.id, d.format, "withdrawn").inc()
        if not batch:
            return False
        try:
            outcomes = await transport.send(partner, batch)
        except PermanentDeliveryError as exc:
            breaker.success()  # the partner answered; the content is the problem
            if len(batch) > 1:
                # Find the one bad message instead of dead-lettering the whole batch with it.
                for d in batch:
                    await self._send(partner, transport, breaker, [d])
                return False
            await fail(self.store, batch, exc, self.config.delivery, metrics=self.metrics)
            return False
        except DeliveryError as exc:
            await self._failed(partner, breaker, batch, exc)
            return isinstance(exc, Congested)
        except Exception as exc:
            # A transport bug or an answer nobody foresaw: the batch is a failed attempt, retried, never
            # stranded as claimed until a restart.
            log.exception("transport.crashed", partner=partner.id, transport=partner.transport)
            await self._failed(partner, breaker, batch,
                               TransientDeliveryError(f"{partner.transport} failed: {type(exc).__name__}"))
            return False
        # Transports that answer per message (https, smtp, the APIs) report an unreachable partner per
        # message: when every message of the batch failed transiently, that counts against the circuit.
        if outcomes and all(isinstance(o.error, TransientDeliveryError) for o in outcomes):
            breaker.failure()
        else:
            breaker.success()
        await self._publish(partner.id, breaker)
        delivered, failed = await record(self.store, outcomes, self.config.delivery,
                                         notice=NOTICE_ACTION.get(partner.kind), by=self.config.id,
                                         metrics=self.metrics)
        log.debug("batch.sent", partner=partner.id, size=len(batch), delivered=delivered, failed=failed,
                  duration_ms=round((time.perf_counter() - started) * 1000, 1))
        return any(isinstance(o.error, Congested) for o in outcomes)
