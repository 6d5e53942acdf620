"""What a transport is: it carries already-encoded, already-signed outbox rows to one partner.

Formats and transports are separate: any format can travel over any transport that fits. A transport
returns, per delivery, either the partner's verified receipt or the error for that delivery, and
raises ``TransientDeliveryError`` / ``PermanentDeliveryError`` when the whole batch failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hotline_gateway.config import Partner
from hotline_gateway.core.errors import DeliveryError
from hotline_gateway.store.records import Delivery


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery: Delivery
    receipt: str | None = None
    error: DeliveryError | None = None
    duplicate: bool = False


class Transport(Protocol):
    name: str
    #: how many deliveries one call may carry
    max_batch: int

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]: ...
