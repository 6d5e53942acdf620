"""The statistics report's reads: plain records of the cases received in a period and of their deliveries.

Read-only, on a connection of its own (the report runs beside a live gateway, never through its writer).
Items come back with only what figures need (legal class, country, takedown history): no URL, no
reporter field leaves the store through here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


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


@contextmanager
def _read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        yield db


def _item(doc: dict[str, Any]) -> ReportItem:
    country = doc.get("assigned_country") or (doc.get("hosting") or {}).get("country") or "unknown"
    return ReportItem(doc["item_id"], doc["legal_class"], country, list(doc.get("actions", [])))


def cases_received(db_path: Path, lo: str, hi: str) -> list[ReportCase]:
    """Cases received in ``[lo, hi)``; ``received_at`` is canonical UTC text, so text order is time order."""
    with _read_only(db_path) as db:
        rows = db.execute("SELECT case_id, origin, category, received_at, doc FROM cases"
                          " WHERE received_at >= ? AND received_at < ? ORDER BY received_at", (lo, hi)).fetchall()
    return [ReportCase(case_id, origin, category, received_at, [_item(i) for i in orjson.loads(doc)["items"]])
            for case_id, origin, category, received_at, doc in rows]


def deliveries_for_cases_received(db_path: Path, lo: str, hi: str) -> list[ReportDelivery]:
    """Every outbound message about a case received in ``[lo, hi)``, whenever it was sent."""
    with _read_only(db_path) as db:
        rows = db.execute("SELECT d.case_id, d.partner, d.state, d.created_at, d.delivered_at FROM deliveries d"
                          " JOIN cases c ON c.case_id = d.case_id WHERE c.received_at >= ? AND c.received_at < ?",
                          (lo, hi)).fetchall()
    return [ReportDelivery(*row) for row in rows]
