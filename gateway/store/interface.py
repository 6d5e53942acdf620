"""The store interface: every durable operation the pipeline, API, CLI, report and TAXII need.

Nothing outside ``gateway/store/`` writes SQL; everything else holds a ``Store``. Each method is one
transaction: what it writes is committed (and synced) before it returns, or nothing is written and it
raises. The SQLite store is the embedded default (one node); the PostgreSQL store serves several nodes
of one gateway (claims with leases, the audit chain appended under a lock, nonces and sessions shared,
leadership for the singletons). The same contract tests run against every implementation
(``tests/store/``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hotline_gateway.core.errors import GatewayError
from hotline_gateway.store.audit import ChainSummary
from hotline_gateway.store.records import (
    AuditEntry,
    Delivery,
    Erasure,
    InboundRecord,
    Intake,
    IntakeResult,
    LifecycleRecord,
    PartnerStatus,
    RetentionRow,
)
from hotline_gateway.store.report_records import ReportCase, ReportDelivery
from hotline_gateway.store.taxii_records import Entry, Filter

Action = Mapping[str, Any]


class CaseConflict(GatewayError):
    """The same case id with different content: a resubmission must be identical to be idempotent."""

    code = "case_conflict"
    http_status = 409
    exit_code = 2

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} already stored with different content")


class Store(Protocol):
    """A gateway's durable state. Open with the implementation's ``open``; close with ``close()``."""

    async def close(self) -> None: ...

    async def probe_write(self, timeout: float = 5.0) -> None:
        """Readiness: a real, synced write; raises ``StoreError`` when the store cannot commit."""
        ...

    # --- nodes ------------------------------------------------------------------------------------

    async def hold_leadership(self) -> bool:
        """Become, or stay, the one node of this gateway that runs the singletons (work-queue poller,
        checkpoint signer, housekeeping); True while this node leads. Called periodically, more often
        than the lease; a node that stops calling loses the lead to another after the lease. A
        single-node store always leads."""
        ...

    async def release_leadership(self) -> None:
        """Hand the lead over at once (shutdown), instead of letting the lease run out."""
        ...

    # --- intake -----------------------------------------------------------------------------------

    async def commit_intakes(self, intakes: Sequence[Intake], *, nonce: tuple[str, str, int] | None = None
                             ) -> list[IntakeResult]:
        """Commit submissions in one transaction. A partner message (``inbound`` set) that its sender
        already stored is skipped whole and answered with the stored record; a local case id stored with
        other content raises ``CaseConflict`` and nothing is written."""
        ...

    async def find_inbound(self, sender: str, message_ids: Sequence[str]) -> dict[str, InboundRecord]: ...

    async def spend_nonce(self, kid: str, nonce: str, created: int) -> bool:
        """Record a request nonce; False when that key already used it inside the replay window."""
        ...

    async def prune_nonces(self, before: int) -> int: ...

    # --- cases ------------------------------------------------------------------------------------

    async def case_docs(self, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def case_origin(self, case_id: str) -> str | None:
        """Who sent us the case (``local`` for our own case system), or None when we do not hold it."""
        ...

    async def items_sent_to(self, case_id: str, partner: str) -> set[str]:
        """Item ids of the case that we queued or delivered to ``partner``."""
        ...

    async def get_case(self, case_id: str) -> tuple[dict[str, Any], list[Delivery]] | None: ...

    async def case_deliveries(self, case_id: str) -> list[Delivery]:
        """Every outbound message about the case, by partner then age; a message a lane is sending now is
        ``in_flight``."""
        ...

    async def case_reporter(self, case_id: str) -> dict[str, Any] | None:
        """The sealed reporter of a case, opened; ``{"kind": ..., "erased": true}`` once its key is gone;
        None when the case had no identifying reporter."""
        ...

    async def reporter_index_secret(self) -> bytes:
        """The key of the reporter index (keyed digests of addresses), kept with the reporter keys."""
        ...

    async def add_actions(self, case_id: str, updates: Sequence[tuple[str, Action]], *, source: str,
                          message_id: str | None = None) -> list[tuple[str, dict[str, Any]]] | None:
        """Record actions on a stored case's items (audited); None when there is no such case."""
        ...

    # --- outbox -----------------------------------------------------------------------------------

    async def claim_due(self, partner: str, now: float, limit: int) -> list[Delivery]:
        """Take up to ``limit`` due deliveries of one partner, oldest first; no other claimer gets them
        until they are marked delivered or failed (or, after a crash, the claim lapses: on a restart of
        the same node at once, for another node when the claim's lease has run out). Each claim counts
        as an attempt (``attempts`` is one more than before)."""
        ...

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        """Give back claimed deliveries untouched (shutdown before sending)."""
        ...

    async def next_due(self, partner: str) -> float | None: ...

    async def mark_delivered(self, results: Sequence[tuple[Delivery, str]], audit: Sequence[AuditEntry],
                             notices: Sequence[tuple[Delivery, Action]] = ()) -> None:
        """Close deliveries with their verified receipts and, in the same transaction, record on their
        items that a notice went out."""
        ...

    async def mark_failed(self, deliveries: Sequence[Delivery], error: str, *, retry_at: float | None,
                          audit: Sequence[AuditEntry]) -> None:
        """Back in the queue for ``retry_at``, or dead-lettered when it is None."""
        ...

    async def withdraw_removed(self, deliveries: Sequence[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
        """Split claimed notices into those still to send and those withdrawn (closed here) because
        every item they are about was reported removed since they were queued."""
        ...

    async def requeue_dead(self, partner: str | None = None, *, deadline_s: float = 24 * 3600,
                           message_id: str | None = None) -> int: ...

    async def requeue_delivered(self, message_ids: Sequence[str]) -> int:
        """Send delivered messages again under the same ids (the demo's proof of duplicate suppression)."""
        ...

    async def outbox_page(self, partner: str, after: tuple[float, str], limit: int) -> list[Delivery]: ...

    async def deliveries(self, partner: str | None = None) -> list[Delivery]: ...

    async def transport_state(self, message_id: str) -> dict[str, Any] | None: ...

    async def put_transport_state(self, message_id: str, state: dict[str, Any] | None) -> None: ...

    # --- retractions and corrections ---------------------------------------------------------------

    async def lifecycle_records(self, case_id: str) -> list[LifecycleRecord]:
        """The case's retractions and corrections, oldest first. (They are written by ``commit_intakes``,
        in the transaction of the intake that carries them.)"""
        ...

    async def lifecycle_unacknowledged(self, created_before: float) -> list[Delivery]:
        """Retractions and corrections queued before ``created_before`` that no destination has
        acknowledged yet (queued, being sent, or dead-lettered)."""
        ...

    async def screen(self, batch: Sequence[Delivery], *, hold_s: float
                     ) -> tuple[list[Delivery], list[Delivery], list[Delivery]]:
        """Split a claimed batch into (send, held, withdrawn): a notice whose items were all retracted is
        withdrawn; a retraction or correction is held ``hold_s`` while an earlier message about its case to
        that partner is still queued, and withdrawn when nothing of the case ever reached the partner.
        Held and withdrawn messages are released from the claim."""
        ...

    # --- partners ---------------------------------------------------------------------------------

    async def set_circuit(self, partner: str, circuit: str, failures: int) -> None: ...

    async def circuits(self) -> dict[str, tuple[str, int]]:
        """Each partner's last recorded circuit state and consecutive failures."""
        ...

    async def partner_status(self) -> dict[str, PartnerStatus]: ...

    # --- audit ------------------------------------------------------------------------------------

    async def append_audit(self, entries: Sequence[AuditEntry]) -> None: ...

    async def recent_audit(self, limit: int = 20) -> list[dict[str, Any]]: ...

    async def verify_audit(self) -> ChainSummary:
        """Walk the chain; raises ``AuditBroken`` naming the first changed, removed or reordered entry."""
        ...

    async def audit_head(self) -> tuple[int, str]:
        """The last entry's sequence number and hash (0 and the genesis hash for an empty chain)."""
        ...

    async def audit_hash_at(self, seq: int) -> str | None: ...

    async def add_checkpoint(self, seq: int, head: str, at: str, jws: str) -> None: ...

    async def checkpoints(self) -> list[tuple[int, str, str, str]]:
        """Our signed checkpoints as (seq, head, at, jws), oldest first."""
        ...

    async def latest_checkpoint(self) -> str | None: ...

    async def add_witnessed(self, gateway: str, seq: int, head: str, at: str, jws: str) -> None:
        """Keep a checkpoint a partner sent us (verified by the caller)."""
        ...

    async def witnessed(self, gateway: str) -> list[str]:
        """The checkpoints of ``gateway`` we hold, oldest first."""
        ...

    async def evidence_problems(self, limit: int = 50) -> tuple[list[str], list[str]]:
        """Stored case documents and payloads held against the digests the chain recorded:
        (problems, warnings), each list bounded by ``limit``."""
        ...

    # --- operators' sessions -----------------------------------------------------------------------

    async def add_session(self, id_sha256: str, csrf: str, expires_at: float) -> None:
        """Keep a signed-in operator's session (by the digest of its cookie value); drops expired ones."""
        ...

    async def session(self, id_sha256: str) -> str | None:
        """The live session's CSRF token, or None when it does not exist or has expired."""
        ...

    async def end_session(self, id_sha256: str) -> None: ...

    # --- retention --------------------------------------------------------------------------------

    async def retention_rows(self) -> list[RetentionRow]:
        """Every case as the retention policy sees it (dates, category, items' legal classes and
        actions, whether reporter data is still held)."""
        ...

    async def cases_of_reporter(self, token: str) -> list[str]:
        """Cases whose reporter's address has this keyed digest (``crypto.sealing.index_token``)."""
        ...

    async def erase_reporters(self, case_ids: Sequence[str], reason: str) -> list[Erasure]:
        """Crypto-shred these cases' reporter data (key first), cancel queued messages carrying it, audit."""
        ...

    async def purge_cases(self, case_ids: Sequence[str], reason: str) -> int:
        """Delete cases whole, each leaving one audit entry with the digest of its document."""
        ...

    # --- TAXII 2.1 collections ---------------------------------------------------------------------

    async def taxii_refresh(self, partner: str) -> None:
        """Index the partner's STIX outbox rows added since the last call, object by object."""
        ...

    async def taxii_objects(self, partner: str, where: Filter, limit: int) -> list[Entry]:
        """Up to ``limit`` object versions in the order they were added, after ``where.after``, filtered."""
        ...

    async def taxii_undelivered(self, message_ids: Sequence[str]) -> list[Delivery]:
        """Those of these deliveries not yet marked delivered (a client has now fetched their bundles)."""
        ...

    async def taxii_put_status(self, partner: str, status: dict[str, Any]) -> None: ...

    async def taxii_status(self, partner: str, status_id: str) -> dict[str, Any] | None:
        """A status resource, only to the partner it belongs to."""
        ...

    # --- the statistics report --------------------------------------------------------------------

    async def report_cases(self, lo: str, hi: str) -> list[ReportCase]:
        """Cases received in ``[lo, hi)`` (canonical UTC timestamps), items reduced to what figures need."""
        ...

    async def report_deliveries(self, lo: str, hi: str) -> list[ReportDelivery]:
        """Every outbound message about a case received in ``[lo, hi)``, whenever it was sent."""
        ...

    # --- queries ----------------------------------------------------------------------------------

    async def count(self, table: str) -> int: ...

    async def dead_letters(self, limit: int = 100) -> list[Delivery]: ...
