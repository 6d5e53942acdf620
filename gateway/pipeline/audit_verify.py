"""``audit verify``: what the audit trail proves, checked from three sides.

1. The chain itself: every entry follows the one before it (a changed, removed or reordered entry is
   named).
2. The evidence it covers: every stored case document and every queued payload has the digest the
   chain recorded for it, and no case or delivery exists that the chain never saw.
3. Its anchors: every checkpoint verifies under our keys and agrees with the chain; with
   ``witnesses``, every checkpoint a partner holds of us agrees too. Without our key, a rewritten and
   recomputed chain fails 3; with our key, whatever a partner witnessed still cannot be changed or
   removed — only what happened after the last witnessed checkpoint can be hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
import orjson

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import GatewayError
from hotline_gateway.core.timefmt import parse_timestamp
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import Request, sign_request
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.crypto.statements import read_statement, verify_statement
from hotline_gateway.pipeline.checkpoints import checkpoint_claims
from hotline_gateway.store.audit import AuditBroken
from hotline_gateway.store.interface import Store
from hotline_gateway.transports.answers import read_bounded, verify_answer

WITNESS_PATH = "/v1/witnessed"


@dataclass(slots=True)
class AuditReport:
    entries: int = 0
    head: str = ""
    checkpoints: int = 0
    witnessed: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head, "checkpoints": self.checkpoints,
                "witnessed": self.witnessed, "problems": self.problems, "warnings": self.warnings}


async def verify_local(store: Store, ours: KeyDirectory, gateway: str) -> AuditReport:
    report = AuditReport()
    try:
        summary = await store.verify_audit()
        report.entries, report.head = summary.entries, summary.head
    except AuditBroken as exc:
        report.problems.append(exc.message)
    problems, warnings = await store.evidence_problems()
    report.problems += problems
    report.warnings += warnings
    for seq, head, at, jws in await store.checkpoints():
        report.checkpoints += 1
        await _check_checkpoint(store, ours, gateway, jws, f"checkpoint of entry {seq}", report,
                                expect=(seq, head, at))
    return report


async def _check_checkpoint(store: Store, ours: KeyDirectory, gateway: str, jws: str, what: str,
                            report: AuditReport, *, expect: tuple[int, str, str] | None = None) -> None:
    try:
        _, claims = read_statement(jws)
        at = parse_timestamp(str(claims.get("at")))
        claimed = checkpoint_claims(verify_statement(jws, ours, at=at))
    except (GatewayError, ValueError) as exc:
        report.problems.append(f"{what}: signature does not verify under our keys ({exc})")
        return
    name, seq, head, at_text = claimed
    if name != gateway or (expect is not None and expect != (seq, head, at_text)):
        report.problems.append(f"{what}: the stored record differs from what was signed")
        return
    found = await store.audit_hash_at(seq)
    if found is None:
        report.problems.append(f"{what}: entry {seq} is missing; the chain was cut after it was signed")
    elif found != head:
        report.problems.append(f"{what}: entry {seq} differs from the signed head (the chain was rewritten)")


async def verify_witnesses(config: Config, store: Store, keyring: KeyRing, partner_keys: PartnerKeys,
                           report: AuditReport, partners: Sequence[Partner]) -> None:
    """Ask each partner gateway for the checkpoints of ours it holds, and hold them against the chain."""
    timeout = aiohttp.ClientTimeout(total=config.delivery.timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for partner in partners:
            try:
                held = await _ask(config, session, keyring, partner_keys, partner)
            except GatewayError as exc:
                report.warnings.append(f"{partner.id}: could not ask for its witnessed checkpoints ({exc.message})")
                continue
            report.witnessed[partner.id] = len(held)
            for jws in held:
                await _check_checkpoint(store, keyring.keys, config.id, jws, f"witnessed by {partner.id}", report)


def witness_url(partner: Partner) -> str:
    assert partner.endpoint is not None
    base = partner.endpoint.removesuffix("/v1/messages").rstrip("/")
    return base + WITNESS_PATH


async def _ask(config: Config, session: aiohttp.ClientSession, keyring: KeyRing, partner_keys: PartnerKeys,
               partner: Partner) -> list[str]:
    url = witness_url(partner)
    body = b"{}"
    key = keyring.signing_key
    headers = {"Content-Type": "application/json", "Content-Digest": content_digest(body)}
    headers.update(sign_request(method="POST", target_uri=url, headers=headers, kid=key.kid, private_key=key.private))
    try:
        async with session.post(url, data=body, headers=headers) as resp:
            data = await read_bounded(resp)
            status, answer_headers = resp.status, resp.headers
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise GatewayError(f"unreachable: {type(exc).__name__}") from None
    verify_answer(partner.id, status, answer_headers, data, partner_keys.directory(partner.id).resolve,
                  Request("POST", url, headers), config.clock_skew_s)
    if status != 200:
        raise GatewayError(f"answered {status}")
    doc = orjson.loads(data)
    held = doc.get("checkpoints") if isinstance(doc, dict) else None
    if not isinstance(held, list) or not all(isinstance(j, str) for j in held):
        raise GatewayError("answer is not a list of checkpoints")
    return held
