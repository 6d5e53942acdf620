"""What both stores do alike with retractions and corrections: the reasons they record, which messages
still count as unsent, and sealing the reporter-carrying messages a change queues."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hotline_gateway.core.errors import LifecycleRace
from hotline_gateway.crypto.sealing import seal
from hotline_gateway.store.records import Delivery, DeliveryState, Intake

#: states of a message that never left: a change cancels these instead of taking them back
UNSENT = (DeliveryState.QUEUED.value, DeliveryState.DEAD.value)
WITHDRAWN = "withdrawn: its items were retracted before it went out"
NOTHING_REACHED = "cancelled: nothing of the case reached the partner, so there is nothing to take back"


def cancel_reason(kind: str) -> str:
    if kind == "retract":
        return "cancelled: case retracted before it was sent"
    return "cancelled: the case was corrected before it was sent (the corrected version replaces it)"


def to_seal(intakes: Sequence[Intake]) -> list[Delivery]:
    """Messages the intakes' changes queue that carry reporter data and are not sealed yet."""
    return [d for i in intakes for change in i.changes for plan in change.plans
            for d in (plan.message, plan.replacement)
            if d is not None and d.carries_reporter and d.sealed_payload is None]


def seal_with(needed: Sequence[Delivery], keys: Mapping[str, bytes]) -> None:
    """Seal each with its case's own key; a key erased since the plan was made means the plan is made again
    (without the data)."""
    for d in needed:
        key = keys.get(d.case_id)
        if key is None:
            raise LifecycleRace(f"the reporter data of case {d.case_id} was erased while the change was planned")
        d.sealed_payload = seal(key, d.payload, d.case_id)
