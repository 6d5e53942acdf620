"""Accept: the transactional heart. Validated cases are routed, encoded and signed for every destination,
and the case, its outbox rows and their audit entries are committed together, before anyone is told "yes".

``build`` is CPU only (routing, encoding, signing) and runs off the event loop; ``commit`` writes
one or more intakes in one transaction and wakes the delivery lanes of every partner that got work.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hotline_gateway.config import Config
from hotline_gateway.core.errors import EncodeError
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.model import Case, MessageType, ReporterKind, dump_case
from hotline_gateway.core.takedown import removed_items
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.keys import SigningKey
from hotline_gateway.crypto.sealing import index_token, new_key, seal
from hotline_gateway.pipeline.encode import encode_for, needs_url, project
from hotline_gateway.pipeline.route import Decision, Router
from hotline_gateway.pipeline.sign import payload_digest, sign_payload
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import (
    AuditEntry,
    Delivery,
    InboundRecord,
    Intake,
    IntakeResult,
    SealedReporter,
    StoredCase,
)

log = get_logger("hotline_gateway.accept")

#: partners that receive takedown notices
NOTICE_KINDS = frozenset({"host", "platform"})


@dataclass(frozen=True, slots=True)
class AcceptResult:
    case_ids: list[str]
    fresh: list[bool]
    deliveries: int


class Acceptor:
    def __init__(self, config: Config, store: Store, keyring: KeyRing, wake: Callable[[str], None],
                 index_secret: bytes = b"") -> None:
        self.config = config
        self.store = store
        #: the key of the reporter index (from the store's vault)
        self.index_secret = index_secret
        self.keyring = keyring
        self.router = Router(config)
        self.wake = wake

    def build(
        self,
        cases: Sequence[Case],
        origin: str,
        *,
        inbound: InboundRecord | None = None,
        message_id: str | None = None,
        docs: dict[str, dict[str, Any]] | None = None,
        key: SigningKey | None = None,
    ) -> Intake:
        """Everything to commit for these cases (CPU only: routing, encoding, signing). ``docs`` holds the
        canonical JSON of cases already serialised (validated input), by case id; ``key`` the signing key
        when the caller already holds it (a partner's batch builds one intake per message)."""
        now = time.time()
        at = datetime.now(UTC)
        key = key or self.keyring.signing_key
        deadline = now + self.config.delivery.deadline_s
        intake = Intake(inbound=inbound)
        built: set[str] = set()
        for case in cases:
            case_id = str(case.case_id)
            if case_id in built:
                continue  # the same case twice in one submission: the first copy stands
            built.add(case_id)
            routing = self.router.route(case, origin)
            doc = (docs or {}).get(case_id) or dump_case(case)
            sealed = self.seal_reporter(case, doc) if case.reporter.identifies_someone else None
            deliveries: list[Delivery] = []
            queued: list[AuditEntry] = []
            gone = removed_items(doc) if any(d.partner.kind in NOTICE_KINDS for d in routing.destinations) else set()
            hash_only = {str(i.item_id) for i in case.items if i.url is None}
            for routed in routing.destinations:
                partner = routed.partner
                item_ids = [i for i in routed.item_ids if partner.kind not in NOTICE_KINDS or i not in gone]
                if hash_only and needs_url(partner.format):
                    # a format that reports addresses cannot carry content known only by its digests
                    routing.decisions += [Decision(i, "encode", partner.id, False,
                                                   f"{partner.format} reports addresses; the item has only hashes")
                                          for i in item_ids if i in hash_only]
                    item_ids = [i for i in item_ids if i not in hash_only]
                if not item_ids:
                    continue  # a host is never sent a notice about content already reported removed
                try:
                    sent = project(case, partner, item_ids, sender=self.config.id, at=at)
                    payload = encode_for(partner, sent)
                except EncodeError as exc:
                    # One destination's format cannot carry the case: the others still get it, and why
                    # this one did not is kept with the routing decisions.
                    routing.decisions += [Decision(i, "encode", partner.id, False, f"{partner.format}: {exc.message}")
                                          for i in item_ids]
                    log.warning("message.not_encodable", case_id=case_id, partner=partner.id, format=partner.format)
                    continue
                digest = payload_digest(payload)
                jws = sign_payload(payload, key)
                out_id = str(uuid.uuid4())
                carries = sealed is not None and sent.reporter.identifies_someone
                deliveries.append(Delivery(
                    message_id=out_id, case_id=case_id, partner=partner.id, format=partner.format,
                    transport=partner.transport, message_type=MessageType.NOTIFY.value, payload=payload,
                    payload_sha256=digest, signature=jws, created_at=now, next_attempt_at=now, deadline_at=deadline,
                    item_ids=item_ids, carries_reporter=carries,
                    sealed_payload=seal(sealed.key, payload, case_id) if carries and sealed is not None else None,
                ))
                queued.append(AuditEntry("message.queued", message_id=out_id, case_id=case_id,
                                         partner=partner.id, payload_sha256=digest, signatures=[jws],
                                         detail=",".join(routed.rules)))
            stored_doc = {**doc, "reporter": {"kind": ReporterKind.WITHHELD.value}} if sealed is not None else doc
            intake.cases.append(StoredCase(
                case_id=case_id, origin=origin, received_at=format_timestamp(case.received_at),
                category=case.category.value, doc=orjson.dumps(stored_doc, option=orjson.OPT_SORT_KEYS),
                routing=orjson.dumps([d.as_dict() for d in routing.decisions]), message_id=message_id,
                reporter=sealed,
            ))
            intake.audit.append(AuditEntry("case.accepted", message_id=message_id, case_id=case_id,
                                           partner=None if origin == "local" else origin,
                                           detail=f"{len(case.items)} items, {len(deliveries)} destinations"))
            intake.deliveries += deliveries
            intake.audit += queued
        return intake

    def seal_reporter(self, case: Case, doc: dict[str, Any]) -> SealedReporter:
        """The reporter, sealed with a fresh key of the case's own (see ``crypto.sealing``); the email
        address, if any, indexed by a keyed digest so an erasure request can find the case."""
        key = new_key()
        reporter = doc["reporter"]
        email = reporter.get("email")
        tokens = (index_token(self.index_secret, email),) if isinstance(email, str) else ()
        return SealedReporter(key=key, kind=reporter["kind"], tokens=tokens,
                              sealed=seal(key, orjson.dumps(reporter, option=orjson.OPT_SORT_KEYS), str(case.case_id)))

    async def commit(self, intakes: Sequence[Intake], *, nonce: tuple[str, str, int] | None = None
                     ) -> list[IntakeResult]:
        started = time.perf_counter()
        results = await self.store.commit_intakes(intakes, nonce=nonce)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        woken: set[str] = set()
        for intake, result in zip(intakes, results, strict=True):
            if result.duplicate_of is not None:
                continue
            stored = {c.case_id for c, new in zip(intake.cases, result.fresh, strict=True) if new}
            for case, new in zip(intake.cases, result.fresh, strict=True):
                log.info("case.accepted", case_id=case.case_id, origin=case.origin, message_id=case.message_id,
                         new=new, duration_ms=duration_ms)
            _warn_routed_nowhere(intake, stored)
            for d in intake.deliveries:
                if d.case_id in stored:
                    woken.add(d.partner)
                    log.info("message.queued", message_id=d.message_id, case_id=d.case_id, partner=d.partner,
                             format=d.format, transport=d.transport)
        for partner in woken:
            self.wake(partner)
        return results

    async def accept(self, intake: Intake) -> AcceptResult:
        """Commit one submission of our own case system (or a polled partner's report)."""
        [result] = await self.commit([intake])
        return AcceptResult([c.case_id for c in intake.cases], result.fresh, len(intake.deliveries))


def _warn_routed_nowhere(intake: Intake, stored: set[str]) -> None:
    """A case of our own that goes nowhere is said on the console with the routing reasons, not left silent:
    on a first deployment it is nearly always a policy (a TLP ceiling, a category) or a missing partner."""
    sent = {d.case_id for d in intake.deliveries}
    for case in intake.cases:
        if case.origin != "local" or case.case_id not in stored or case.case_id in sent:
            continue
        decisions = orjson.loads(case.routing)
        if decisions and all(d["destination"] is None and d["reason"] == "rule forwards nothing" for d in decisions):
            continue  # a rule says it stays here (not illegal, say): as intended, nothing to warn about
        reasons = sorted({f"{d['destination'] or d['rule']}: {d['reason']}" for d in decisions})
        log.warning("case.routed_nowhere", case_id=case.case_id, reasons="; ".join(reasons),
                    explain="hotline-gateway route --config FILE CASE.json shows each rule and policy")
