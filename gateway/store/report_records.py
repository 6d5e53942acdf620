"""What the statistics report reads of the store: plain records of cases received in a period and of their
deliveries. Items carry only what figures need (legal class, country, takedown history): no URL and no
reporter field leaves the store this way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ReportItem:
    item_id: str
    legal_class: str
    #: the country assigned by an analyst, else the one hosting was traced to, else "unknown"
    country: str
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReportCase:
    case_id: str
    origin: str
    category: str
    received_at: str
    items: list[ReportItem]


@dataclass(frozen=True, slots=True)
class ReportDelivery:
    case_id: str
    partner: str
    state: str
    created_at: float
    delivered_at: float | None


def report_item(doc: dict[str, Any]) -> ReportItem:
    country = doc.get("assigned_country") or (doc.get("hosting") or {}).get("country") or "unknown"
    return ReportItem(doc["item_id"], doc["legal_class"], country, list(doc.get("actions", [])))
