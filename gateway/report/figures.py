"""The figures of a reporting period, computed from plain records the store hands over (no SQL here).

Only counts and durations leave this module. The period selects cases by the day they were received (UTC);
their items, deliveries and takedown history come with them, whenever those happened. The funder summary
comes first: what a funder asks (reports handled, how many were illegal, how fast illegal content came down,
how many cases went to the police and to partner hotlines), in total and by month.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from hotline_gateway.core.takedown import item_takedown
from hotline_gateway.store.report_records import ReportCase, ReportDelivery

ILLEGAL = ("baseline", "national")
WINDOWS_DAYS = (1, 3, 7)
#: time-to-removal classes (label, upper bound in hours), for the chart and its table alike
REMOVAL_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<= 1 h", 1), ("1-6 h", 6), ("6-24 h", 24), ("1-3 days", 72), ("3-7 days", 168), ("> 7 days", float("inf")))
#: the partner kinds the funder summary counts cases for
POLICE, HOTLINE = "law_enforcement", "hotline"


@dataclass
class Period:
    """The funder figures of a span of time (the whole period, or one month of it)."""

    label: str
    reports: int = 0
    #: reports with at least one item assessed illegal (baseline or national)
    reports_illegal: int = 0
    share_illegal: float | None = None
    items: int = 0
    illegal_items: int = 0
    #: share of the illegal items reported removed within N days of the first notice (or of receipt)
    removed_within_days: dict[str, float | None] = field(default_factory=dict)
    median_removal_hours: float | None = None
    #: cases with at least one message delivered (acknowledged) to a partner of that kind
    cases_to_police: int = 0
    cases_to_hotlines: int = 0


@dataclass
class Figures:
    period_from: str
    period_to: str
    gateway: str
    summary: Period = field(default_factory=lambda: Period("total"))
    by_month: list[Period] = field(default_factory=list)
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

    @property
    def empty(self) -> bool:
        return self.cases == 0

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


def removal_hours(case: ReportCase) -> list[float]:
    """Hours from first notice (or receipt) to removal, for each illegal item of the case reported removed."""
    hours = []
    for item in case.items:
        if item.legal_class in ILLEGAL:
            took = item_takedown({"item_id": item.item_id, "actions": item.actions}, case.received_at)
            if took["time_to_removal_s"] is not None:
                hours.append(took["time_to_removal_s"] / 3600)
    return hours


def period_figures(label: str, cases: list[ReportCase], sent_to: Mapping[str, set[str]]) -> Period:
    """``sent_to`` maps a partner kind to the ids of cases delivered to a partner of that kind."""
    p = Period(label, reports=len(cases))
    hours: list[float] = []
    for case in cases:
        illegal = sum(1 for i in case.items if i.legal_class in ILLEGAL)
        p.items += len(case.items)
        p.illegal_items += illegal
        p.reports_illegal += illegal > 0
        hours += removal_hours(case)
        p.cases_to_police += case.case_id in sent_to.get(POLICE, set())
        p.cases_to_hotlines += case.case_id in sent_to.get(HOTLINE, set())
    p.share_illegal = round(p.reports_illegal / p.reports, 4) if p.reports else None
    p.removed_within_days = {str(d): round(sum(h <= d * 24 for h in hours) / p.illegal_items, 4)
                             if p.illegal_items else None for d in WINDOWS_DAYS}
    p.median_removal_hours = round(statistics.median(hours), 3) if hours else None
    return p


def period_bounds(start: date, end: date) -> tuple[str, str]:
    """``[lo, hi)`` as canonical UTC text for the days ``start`` to ``end`` inclusive."""
    return start.isoformat(), (end + timedelta(days=1)).isoformat()


def compute(cases: list[ReportCase], deliveries: list[ReportDelivery], gateway: str, start: date, end: date,
            partner_kinds: Mapping[str, str] | None = None) -> Figures:
    """Cases received from ``start`` to ``end`` inclusive (UTC days), as the store returned them for
    ``period_bounds``; ``partner_kinds`` maps partner id to kind."""
    fig = Figures(start.isoformat(), end.isoformat(), gateway)
    _details(fig, cases, deliveries)
    kinds = partner_kinds or {}
    sent_to: dict[str, set[str]] = {}
    for d in deliveries:
        if d.state == "delivered" and d.partner in kinds:
            sent_to.setdefault(kinds[d.partner], set()).add(d.case_id)
    fig.summary = period_figures("total", cases, sent_to)
    months: dict[str, list[ReportCase]] = {}
    for case in cases:
        months.setdefault(case.received_at[:7], []).append(case)
    fig.by_month = [period_figures(month, group, sent_to) for month, group in sorted(months.items())]
    return fig


def _details(fig: Figures, cases: list[ReportCase], deliveries: list[ReportDelivery]) -> None:
    counts: dict[str, Counter[str]] = {k: Counter() for k in ("cat", "cat_items", "legal", "legal_cases",
                                                               "country", "country_cases")}
    hours: list[float] = []
    for case in cases:
        fig.cases += 1
        counts["cat"][case.category] += 1
        counts["cat_items"][case.category] += len(case.items)
        counts["legal_cases"].update({i.legal_class for i in case.items})
        counts["country_cases"].update({i.country for i in case.items})
        for item in case.items:
            fig.items += 1
            counts["legal"][item.legal_class] += 1
            counts["country"][item.country] += 1
            fig.illegal_items += item.legal_class in ILLEGAL
        hours += removal_hours(case)
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
    by_dest: dict[str, Counter[str]] = {}
    latency: dict[str, list[float]] = {}
    for d in deliveries:
        by_dest.setdefault(d.partner, Counter())[d.state] += 1
        if d.delivered_at is not None:
            latency.setdefault(d.partner, []).append(max(0.0, d.delivered_at - d.created_at))
    fig.deliveries_by_destination = {p: dict(sorted(c.items())) for p, c in sorted(by_dest.items())}
    for partner, values in sorted(latency.items()):
        values.sort()
        fig.delivery_latency_s[partner] = {"count": len(values), "median": round(statistics.median(values), 3),
                                           "p90": round(_quantile(values, 0.9), 3), "max": round(values[-1], 3)}
