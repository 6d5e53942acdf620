"""The figures of a reporting period, computed from the store's own records (read-only).

Only counts and durations leave this module: no URL, no reporter field is ever read into a figure.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from gateway.pipeline.takedown import item_takedown

ILLEGAL = ("baseline", "national")
WINDOWS_DAYS = (1, 3, 7)


@dataclass
class Figures:
    period_from: str
    period_to: str
    gateway: str
    cases: int = 0
    items: int = 0
    cases_by_category: dict[str, int] = field(default_factory=dict)
    items_by_legal_class: dict[str, int] = field(default_factory=dict)
    items_by_hosting_country: dict[str, int] = field(default_factory=dict)
    deliveries_by_destination: dict[str, dict[str, int]] = field(default_factory=dict)
    illegal_items: int = 0
    removed_items: int = 0
    removed_within_days: dict[str, float] = field(default_factory=dict)
    time_to_removal_hours: list[float] = field(default_factory=list)
    delivery_latency_s: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def compute(db_path: Path, gateway: str, start: date, end: date) -> Figures:
    """Cases received from ``start`` to ``end`` inclusive (UTC days)."""
    lo, hi = start.isoformat(), (end + timedelta(days=1)).isoformat()
    fig = Figures(start.isoformat(), end.isoformat(), gateway)
    uri = f"file:{db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        categories: Counter[str] = Counter()
        legal: Counter[str] = Counter()
        countries: Counter[str] = Counter()
        hours: list[float] = []
        case_ids: list[str] = []
        rows = db.execute("SELECT case_id, category, received_at, doc FROM cases WHERE received_at >= ? "
                          "AND received_at < ?", (lo, hi))
        for case_id, category, received_at, doc in rows:
            case_ids.append(case_id)
            categories[category] += 1
            for item in orjson.loads(doc)["items"]:
                fig.items += 1
                legal[item["legal_class"]] += 1
                hosting = item.get("assigned_country") or (item.get("hosting") or {}).get("country") or "unknown"
                countries[hosting] += 1
                if item["legal_class"] in ILLEGAL:
                    fig.illegal_items += 1
                    took = item_takedown(item, received_at)["time_to_removal_s"]
                    if took is not None:
                        hours.append(took / 3600)
        fig.cases = len(case_ids)
        fig.cases_by_category, fig.items_by_legal_class = _sorted(categories), _sorted(legal)
        fig.items_by_hosting_country = _sorted(countries)
        fig.removed_items = len(hours)
        fig.time_to_removal_hours = sorted(round(h, 3) for h in hours)
        for days in WINDOWS_DAYS:
            share = sum(1 for h in hours if h <= days * 24) / fig.illegal_items if fig.illegal_items else 0.0
            fig.removed_within_days[str(days)] = round(share, 4)
        by_dest: dict[str, Counter[str]] = {}
        latency: dict[str, list[float]] = {}
        for partner, state, created, delivered in db.execute(
            "SELECT d.partner, d.state, d.created_at, d.delivered_at FROM deliveries d JOIN cases c "
            "ON c.case_id = d.case_id WHERE c.received_at >= ? AND c.received_at < ?", (lo, hi)
        ):
            by_dest.setdefault(partner, Counter())[state] += 1
            if delivered is not None:
                latency.setdefault(partner, []).append(max(0.0, delivered - created))
        fig.deliveries_by_destination = {p: dict(sorted(c.items())) for p, c in sorted(by_dest.items())}
        for partner, values in sorted(latency.items()):
            values.sort()
            fig.delivery_latency_s[partner] = {
                "count": len(values), "median": round(statistics.median(values), 3),
                "p90": round(values[min(len(values) - 1, int(0.9 * len(values)))], 3), "max": round(values[-1], 3)}
    return fig
