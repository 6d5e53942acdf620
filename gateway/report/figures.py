"""The figures of a reporting period, computed from the store's own records (read-only).

Only counts and durations leave this module: no URL, no reporter field is ever read into a figure.
The period selects cases by the day they were received (UTC); their items, deliveries and takedown
history come with them, whenever those happened.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import Counter
from collections.abc import Iterable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from hotline_gateway.core.takedown import item_takedown

ILLEGAL = ("baseline", "national")
WINDOWS_DAYS = (1, 3, 7)
#: time-to-removal classes (label, upper bound in hours), for the chart and its table alike
REMOVAL_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<= 1 h", 1), ("1-6 h", 6), ("6-24 h", 24), ("1-3 days", 72), ("3-7 days", 168), ("> 7 days", float("inf")))


@dataclass
class Figures:
    period_from: str
    period_to: str
    gateway: str
    cases: int = 0
    items: int = 0
    cases_by_category: dict[str, int] = field(default_factory=dict)
    items_by_category: dict[str, int] = field(default_factory=dict)
    items_by_legal_class: dict[str, int] = field(default_factory=dict)
    #: cases with at least one item of the class (a case with mixed items counts under each of them)
    cases_by_legal_class: dict[str, int] = field(default_factory=dict)
    items_by_hosting_country: dict[str, int] = field(default_factory=dict)
    cases_by_hosting_country: dict[str, int] = field(default_factory=dict)
    deliveries_by_destination: dict[str, dict[str, int]] = field(default_factory=dict)
    illegal_items: int = 0
    removed_items: int = 0
    #: share of the period's illegal items removed within N days of the first notice (or of receipt, without one)
    removed_within_days: dict[str, float] = field(default_factory=dict)
    removed_within_days_items: dict[str, int] = field(default_factory=dict)
    #: count, median, p90 and max in hours, and the number of removed items per class of REMOVAL_BUCKETS
    time_to_removal: dict[str, Any] = field(default_factory=dict)
    delivery_latency_s: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _quantile(ordered: list[float], q: float) -> float:
    """Nearest-rank quantile of a sorted, non-empty list."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise_removal(hours: Iterable[float]) -> dict[str, Any]:
    ordered = sorted(hours)
    buckets = dict.fromkeys((label for label, _ in REMOVAL_BUCKETS), 0)
    for h in ordered:
        buckets[next(label for label, bound in REMOVAL_BUCKETS if h <= bound)] += 1
    if not ordered:
        return {"count": 0, "median_hours": None, "p90_hours": None, "max_hours": None, "buckets": buckets}
    return {"count": len(ordered), "median_hours": round(statistics.median(ordered), 3),
            "p90_hours": round(_quantile(ordered, 0.9), 3), "max_hours": round(ordered[-1], 3), "buckets": buckets}


def compute(db_path: Path, gateway: str, start: date, end: date) -> Figures:
    """Cases received from ``start`` to ``end`` inclusive (UTC days)."""
    lo, hi = start.isoformat(), (end + timedelta(days=1)).isoformat()
    fig = Figures(start.isoformat(), end.isoformat(), gateway)
    counts: dict[str, Counter[str]] = {k: Counter() for k in ("cat", "cat_items", "legal", "legal_cases",
                                                               "country", "country_cases")}
    hours: list[float] = []
    with closing(sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)) as db:  # read-only
        # received_at is canonical UTC text ("...Z"), so comparing strings compares instants
        rows = db.execute("SELECT category, received_at, doc FROM cases WHERE received_at >= ? AND received_at < ?",
                          (lo, hi))
        for category, received_at, doc in rows:
            fig.cases += 1
            counts["cat"][category] += 1
            items = orjson.loads(doc)["items"]
            counts["cat_items"][category] += len(items)
            classes: set[str] = set()
            countries: set[str] = set()
            for item in items:
                fig.items += 1
                hosting = item.get("assigned_country") or (item.get("hosting") or {}).get("country") or "unknown"
                classes.add(item["legal_class"])
                countries.add(hosting)
                counts["legal"][item["legal_class"]] += 1
                counts["country"][hosting] += 1
                if item["legal_class"] in ILLEGAL:
                    fig.illegal_items += 1
                    took = item_takedown(item, received_at)["time_to_removal_s"]
                    if took is not None:
                        hours.append(took / 3600)
            counts["legal_cases"].update(classes)
            counts["country_cases"].update(countries)
        by_dest: dict[str, Counter[str]] = {}
        latency: dict[str, list[float]] = {}
        for partner, state, created, delivered in db.execute(
            "SELECT d.partner, d.state, d.created_at, d.delivered_at FROM deliveries d JOIN cases c "
            "ON c.case_id = d.case_id WHERE c.received_at >= ? AND c.received_at < ?", (lo, hi)
        ):
            by_dest.setdefault(partner, Counter())[state] += 1
            if delivered is not None:
                latency.setdefault(partner, []).append(max(0.0, delivered - created))
    fig.cases_by_category, fig.items_by_category = _sorted(counts["cat"]), _sorted(counts["cat_items"])
    fig.items_by_legal_class, fig.cases_by_legal_class = _sorted(counts["legal"]), _sorted(counts["legal_cases"])
    fig.items_by_hosting_country = _sorted(counts["country"])
    fig.cases_by_hosting_country = _sorted(counts["country_cases"])
    fig.removed_items = len(hours)
    for days in WINDOWS_DAYS:
        within = sum(1 for h in hours if h <= days * 24)
        fig.removed_within_days_items[str(days)] = within
        fig.removed_within_days[str(days)] = round(within / fig.illegal_items, 4) if fig.illegal_items else 0.0
    fig.time_to_removal = summarise_removal(hours)
    fig.deliveries_by_destination = {p: dict(sorted(c.items())) for p, c in sorted(by_dest.items())}
    for partner, values in sorted(latency.items()):
        values.sort()
        fig.delivery_latency_s[partner] = {"count": len(values), "median": round(statistics.median(values), 3),
                                           "p90": round(_quantile(values, 0.9), 3), "max": round(values[-1], 3)}
    return fig
