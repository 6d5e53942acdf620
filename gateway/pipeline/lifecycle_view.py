"""What became of a retraction or correction at each destination: the original message, the retraction or
correction sent in its place (or the unsent messages cancelled instead), and the acknowledgement.

An acknowledgement is what the destination can give: a partner gateway's signed receipt; a reporting API's
answer (a CyberTipline-style API retracts only a report not yet filed: for a filed one it is "not
possible", said as such); a TAXII client fetching the revoked objects; for e-mail, only the mail server's
acceptance (no acknowledgement is possible). One not acknowledged ``retraction_ack_s`` after it was
queued is overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hotline_gateway.core.timefmt import iso_from_epoch
from hotline_gateway.crypto.receipts import receipt_claims
from hotline_gateway.store.records import Delivery, DeliveryState, LifecycleRecord

PENDING = frozenset({DeliveryState.QUEUED, DeliveryState.IN_FLIGHT, DeliveryState.DEAD})


def acknowledgement(d: Delivery, now: float, ack_s: float) -> dict[str, Any]:
    """The state of one retraction or correction message at its destination."""
    if d.state is DeliveryState.CANCELLED:
        return {"state": "withdrawn", "detail": d.last_error}
    if d.state in PENDING:
        overdue = now - d.created_at > ack_s
        out: dict[str, Any] = {"state": "overdue" if overdue else "pending", "since": iso_from_epoch(d.created_at)}
        if d.state is DeliveryState.DEAD or d.last_error:
            out["detail"] = d.last_error
        return out
    claims = receipt_claims(d.receipt) if d.receipt else {}
    at = iso_from_epoch(d.delivered_at) if d.delivered_at else None
    kind = claims.get("kind")
    if claims.get("signed"):
        return {"state": "acknowledged", "by": "signed receipt", "at": claims.get("received_at", at)}
    if kind == "smtp":
        return {"state": "sent", "by": "e-mail accepted by the mail server", "at": at,
                "detail": "no acknowledgement is possible by e-mail"}
    if kind == "taxii":
        return {"state": "acknowledged", "by": f"fetched by {claims.get('fetched_by')}", "at": at}
    if claims.get("outcome") == "not_possible":
        return {"state": "not_possible", "by": kind, "at": at, "detail": claims.get("detail")}
    return {"state": "acknowledged", "by": kind or "partner", "at": at,
            **({"detail": claims["detail"]} if claims.get("detail") else {})}


def lifecycle_view(records: Sequence[LifecycleRecord], deliveries: Sequence[Delivery], now: float,
                   ack_s: float) -> list[dict[str, Any]]:
    """Per retraction or correction of the case, per destination: original, message, acknowledgement."""
    originals: dict[str, list[Delivery]] = {}
    for d in deliveries:
        if d.notice_id is None:
            originals.setdefault(d.partner, []).append(d)
    out = []
    for rec in records:
        mine = [d for d in deliveries if d.notice_id == rec.notice_id]
        partners = sorted({d.partner for d in mine} | {p for p, rows in originals.items()
                                                      if any(_cancelled_by(d, rec) for d in rows)})
        destinations = []
        for partner in partners:
            sent = [d for d in mine if d.partner == partner]
            row: dict[str, Any] = {
                "partner": partner,
                "original": [{"message_id": d.message_id, "state": d.state.value, "items": len(d.item_ids),
                              **({"delivered_at": iso_from_epoch(d.delivered_at)} if d.delivered_at else {})}
                             for d in originals.get(partner, []) if d.created_at <= rec.recorded_at],
            }
            if sent:
                d = sent[-1]
                row["message"] = {"message_id": d.message_id, "type": d.message_type, "format": d.format,
                                  "state": d.state.value, "attempts": d.attempts}
                row["acknowledgement"] = acknowledgement(d, now, ack_s)
            else:
                row["acknowledgement"] = {"state": "cancelled_unsent",
                                          "detail": "nothing had been sent: the queued messages were cancelled"}
            destinations.append(row)
        notice = rec.notice
        out.append({"notice_id": rec.notice_id, "kind": rec.kind, "reason": rec.reason, "origin": rec.origin,
                    "recorded_at": iso_from_epoch(rec.recorded_at), "item_ids": notice.get("item_ids", []),
                    **({"note": notice["note"]} if notice.get("note") else {}),
                    **({"changes": notice["changes"]} if notice.get("changes") else {}),
                    "destinations": destinations})
    return out


def _cancelled_by(d: Delivery, rec: LifecycleRecord) -> bool:
    return d.state is DeliveryState.CANCELLED and bool(d.last_error) and d.created_at <= rec.recorded_at and (
        (d.last_error or "").startswith(("cancelled: case retracted", "cancelled: the case was corrected")))


def overdue(rows: Sequence[Delivery]) -> list[dict[str, Any]]:
    """Unacknowledged retractions and corrections, for ``status`` and the status page."""
    return [{"case_id": d.case_id, "partner": d.partner, "message_id": d.message_id, "type": d.message_type,
             "state": d.state.value, "since": iso_from_epoch(d.created_at),
             **({"last_error": d.last_error} if d.last_error else {})} for d in rows]
