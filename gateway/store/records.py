"""What the store keeps: plain records shared by the store interface and its implementations."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DeliveryState(StrEnum):
    QUEUED = "queued"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"
    #: withdrawn before sending: every item it notified about was reported removed meanwhile
    CANCELLED = "cancelled"


@dataclass(slots=True)
class AuditEntry:
    """One link of the audit chain: what happened to which message, with its digest and signatures.

    ``doc_sha256`` is the digest of a case's stored document as it stands after this event (set by the
    store when it writes the document), so ``audit verify`` can tell an edited case document.
    """

    kind: str
    message_id: str | None = None
    case_id: str | None = None
    partner: str | None = None
    payload_sha256: str | None = None
    signatures: list[str] = field(default_factory=list)
    detail: str | None = None
    doc_sha256: str | None = None


@dataclass(slots=True)
class InboundRecord:
    """A message accepted from a partner (or a local submission), kept to answer resends with the same receipt."""

    message_id: str
    sender: str
    received_at: str
    payload_sha256: str
    receipt: str
    kid: str | None = None


@dataclass(frozen=True, slots=True)
class SealedReporter:
    """A case's reporter data, sealed with the case's own key (the key goes to the vault, the rest to the
    store); ``tokens`` find the case again from an erasure request (keyed digests of the address)."""

    key: bytes
    kind: str
    sealed: bytes
    tokens: tuple[str, ...] = ()


@dataclass(slots=True)
class StoredCase:
    case_id: str
    origin: str
    received_at: str
    category: str
    #: the canonical document as stored: an identifying reporter is replaced by ``{"kind": "withheld"}``
    #: and kept only sealed (``reporter``)
    doc: bytes
    routing: bytes
    message_id: str | None = None
    reporter: SealedReporter | None = None


@dataclass(slots=True)
class Delivery:
    """One outbound message in the outbox: its bytes are fixed once, so every retry sends the same thing."""

    message_id: str
    case_id: str
    partner: str
    format: str
    transport: str
    message_type: str
    payload: bytes
    payload_sha256: str
    signature: str
    created_at: float
    next_attempt_at: float
    deadline_at: float
    state: DeliveryState = DeliveryState.QUEUED
    attempts: int = 0
    last_error: str | None = None
    receipt: str | None = None
    delivered_at: float | None = None
    #: the case's items this message carries (a notice is about these and no others)
    item_ids: list[str] = field(default_factory=list)
    #: the payload holds reporter data: it is stored sealed with the case's key (``sealed_payload``) and
    #: cannot be sent once that key is erased
    carries_reporter: bool = False
    sealed_payload: bytes | None = None
    #: a retraction or correction (``case.retract``/``case.correct``): the notice it carries
    notice_id: str | None = None


@dataclass(slots=True)
class Intake:
    """Everything one accepted submission (or one message of a partner's batch) writes, committed
    together or not at all.

    With ``inbound`` set, the intake is one partner message: if that sender already stored that message
    id, nothing of it is written and the stored receipt is returned instead (atomic duplicate check).
    """

    inbound: InboundRecord | None = None
    cases: list[StoredCase] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    #: a case id already stored with other content: keep the first copy (partners) or refuse (local intake)
    keep_first: bool = False
    #: actions for items of stored cases (``case.update``): case id → [(item id, action JSON)]
    updates: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    #: retractions and corrections of stored cases
    changes: list[LifecycleChange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What a commit did: per case, whether it was new; for a partner message already stored by that
    sender, the stored inbound record (and nothing was written)."""

    fresh: list[bool]
    duplicate_of: InboundRecord | None = None
    #: per retraction or correction of the intake, what the commit did
    changes: list[ChangeOutcome] = field(default_factory=list)


@dataclass(slots=True)
class PartnerStatus:
    partner: str
    queued: int = 0
    in_flight: int = 0
    delivered: int = 0
    dead: int = 0
    cancelled: int = 0
    oldest_queued_at: float | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class RetentionRow:
    """What the retention policy needs to know of a case (no personal data)."""

    case_id: str
    received_at: str
    category: str
    status: str
    items: list[Any]
    #: reporter data is held, sealed, and not erased yet
    has_reporter: bool


@dataclass(frozen=True, slots=True)
class Erasure:
    """One case's reporter data erased: who had received it before (only where policy allowed), and how
    many queued messages carrying it were cancelled."""

    case_id: str
    sent_to: list[str]
    cancelled: int


@dataclass(slots=True)
class PartnerPlan:
    """What a retraction or correction means for one partner that was sent (or was to be sent) the case.

    ``cancel`` are its messages the plan found unsent (queued, or dead-lettered): the commit cancels them,
    and raises ``LifecycleRace`` if one is no longer unsent (a lane claimed it meanwhile: plan again).
    ``message`` is the retraction or correction in the partner's terms, queued when something may have
    reached it; ``replacement`` carries what remains of the cancelled messages (items not retracted, or
    the corrected version) as a fresh notice.
    """

    partner: str
    item_ids: list[str]
    cancel: list[str] = field(default_factory=list)
    message: Delivery | None = None
    replacement: Delivery | None = None


@dataclass(slots=True)
class LifecycleChange:
    """A retraction or correction of a stored case, committed whole or not at all."""

    notice_id: str
    case_id: str
    kind: str
    #: who asked for it: ``local`` (our case system or an operator) or the partner that sent it
    origin: str
    reason: str
    #: the notice as recorded (canonical JSON, ``$defs/Lifecycle``, without the case)
    notice: bytes
    #: the case's stored document after the change
    doc: bytes
    #: digest of the stored document the change was computed from: if it changed meanwhile, the commit raises
    #: ``LifecycleRace`` and the change is computed again
    based_on: str
    plans: list[PartnerPlan] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    notice_id: str
    #: partners a retraction or correction was queued for
    queued: list[str]
    #: (partner, message id) of messages cancelled before they were sent
    cancelled: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class LifecycleRecord:
    """A retraction or correction as stored, with when and on whose request."""

    notice_id: str
    case_id: str
    kind: str
    origin: str
    reason: str
    notice: dict[str, Any]
    recorded_at: float
    message_id: str | None = None
