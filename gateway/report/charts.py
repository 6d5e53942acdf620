"""Charts of the figures as PNG bytes (matplotlib, no display), to embed in the offline report."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: charts are rendered to PNG bytes
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from gateway.report.figures import Figures

COLOUR = "#35608f"


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def bars(title: str, data: dict[str, float], xlabel: str = "", limit: int = 15) -> bytes:
    items = list(data.items())[:limit]
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(items), 3) + 1))
    ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1], color=COLOUR)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return _png(fig)


def histogram(title: str, values: list[float], xlabel: str) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(values or [0.0], bins=20, color=COLOUR)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("items")
    return _png(fig)


def all_charts(fig: Figures) -> dict[str, bytes]:
    delivered = {p: float(s.get("delivered", 0)) for p, s in fig.deliveries_by_destination.items()}
    return {
        "cases_by_category": bars("Cases by category", dict(fig.cases_by_category.items())),
        "items_by_legal_class": bars("Items by legal class", dict(fig.items_by_legal_class.items())),
        "items_by_hosting_country": bars("Items by hosting country (top 15)",
                                         dict(fig.items_by_hosting_country.items())),
        "deliveries_by_destination": bars("Delivered messages by destination", delivered),
        "removed_within": bars("Share of illegal items removed within", {f"{d} day(s)": v for d, v in
                                                                         fig.removed_within_days.items()}, "share"),
        "time_to_removal": histogram("Time to removal", fig.time_to_removal_hours, "hours"),
        "latency": bars("Median delivery latency by partner",
                        {p: v["median"] for p, v in fig.delivery_latency_s.items()}, "seconds"),
    }
