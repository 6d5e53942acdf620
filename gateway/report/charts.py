"""Charts of the figures as PNG bytes, to embed in the offline report.

Figures are built without pyplot (no global state, no display): ``Figure.savefig`` renders PNG with
matplotlib's Agg backend whatever backend the process has configured.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

from hotline_gateway.report.figures import Figures

COLOUR = "#35608f"


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # no Software tag: the file carries nothing but the picture
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def bars(title: str, data: dict[str, float], xlabel: str = "", limit: int = 15) -> bytes:
    """Horizontal bars in the order given, the first on top (counts come sorted, largest first)."""
    items = list(data.items())[:limit]
    fig = Figure(figsize=(7, 0.35 * max(len(items), 3) + 1))
    ax = fig.subplots()
    ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1], color=COLOUR)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return _png(fig)


def columns(title: str, data: dict[str, int], ylabel: str) -> bytes:
    """Vertical bars for classes with an order of their own (a distribution), left to right."""
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    ax.bar(list(data), list(data.values()), color=COLOUR)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return _png(fig)


def all_charts(fig: Figures) -> dict[str, bytes]:
    delivered = {p: float(s.get("delivered", 0)) for p, s in fig.deliveries_by_destination.items()}
    return {
        "by_category": bars("Cases by category", dict(fig.cases_by_category.items())),
        "by_legal_class": bars("Items by legal class", dict(fig.items_by_legal_class.items())),
        "by_hosting_country": bars("Items by hosting country (top 15)", dict(fig.items_by_hosting_country.items())),
        "deliveries_by_destination": bars("Delivered messages by destination", delivered),
        "removed_within": bars("Share of illegal items removed within", {f"{d} day(s)": v for d, v in
                                                                         fig.removed_within_days.items()}, "share"),
        "time_to_removal": columns("Time to removal (from first notice)", dict(fig.time_to_removal["buckets"]),
                                   "illegal items removed"),
        "latency": bars("Median delivery latency by partner",
                        {p: v["median"] for p, v in fig.delivery_latency_s.items()}, "seconds"),
    }
