"""Charts of the figures as PNG bytes, to embed in the offline report; a chart is drawn only over real data.

Readable at a glance: every chart has a title that says what is counted and an axis naming the unit, bars
start at zero and carry their value, the largest comes first, and a category, legal class or destination
has the same colour in every chart. A figure with nothing to show gets no chart at all (the page says so
in words): no empty axes, and never a bar for something that did not happen.

Figures are built without pyplot (no global state, no display): ``Figure.savefig`` renders PNG with
matplotlib's Agg backend whatever backend the process has configured.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from hotline_gateway.core.model import Category, LegalClass
from hotline_gateway.report.figures import Figures

NEUTRAL = "#35608f"
#: colour-blind-safe palette (Okabe-Ito), assigned in a fixed order so colours never move between charts
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999", "#000000")
CATEGORY_COLOURS = {c.value: PALETTE[i % len(PALETTE)] for i, c in enumerate(Category)}
LEGAL_COLOURS = {LegalClass.BASELINE.value: "#8E1B10", LegalClass.NATIONAL.value: "#D55E00",
                 LegalClass.DOUBTFUL.value: "#E6B000", LegalClass.NOT_ILLEGAL.value: "#7A9A5A"}


def destination_colours(fig: Figures) -> dict[str, str]:
    """One colour per destination, by sorted id, shared by the deliveries and latency charts."""
    names = sorted(set(fig.deliveries_by_destination) | set(fig.delivery_latency_s))
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # no Software tag: the file carries nothing but the picture
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def bars(title: str, data: Mapping[str, float], unit: str, colours: Mapping[str, str] | None = None,
         limit: int = 15, percent: bool = False) -> bytes | None:
    """Horizontal bars, largest on top, each labelled with its value; None when there is nothing to draw."""
    items = sorted(((k, v) for k, v in data.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))[:limit]
    if not items:
        return None
    labels, values = [k for k, _ in items][::-1], [v for _, v in items][::-1]
    fig = Figure(figsize=(7, 0.38 * max(len(items), 2) + 1.1))
    ax = fig.subplots()
    drawn = ax.barh(labels, values, color=[(colours or {}).get(k, NEUTRAL) for k in labels])
    ax.bar_label(drawn, labels=[f"{v:.0%}" if percent else f"{v:g}" for v in values], padding=3, fontsize=9)
    ax.set_xlim(0, (1.0 if percent else max(values)) * 1.15)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=unit not in ("seconds", "hours")))
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_xlabel(unit)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def columns(title: str, data: Mapping[str, int], unit: str) -> bytes | None:
    """Vertical bars for classes with an order of their own (a distribution), left to right; None if all zero."""
    if not any(data.values()):
        return None
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    drawn = ax.bar(list(data), list(data.values()), color=NEUTRAL)
    ax.bar_label(drawn, labels=[str(v) if v else "" for v in data.values()], padding=2, fontsize=9)
    ax.set_ylim(0, max(data.values()) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_ylabel(unit)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def monthly(title: str, months: Sequence[str], series: Mapping[str, Sequence[int]], unit: str) -> bytes | None:
    """Grouped columns per month, one colour per series (the same in the legend and in the summary table)."""
    if not months or not any(v for values in series.values() for v in values):
        return None
    fig = Figure(figsize=(8, 3.4))
    ax = fig.subplots()
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        ax.bar([m + (i - (len(series) - 1) / 2) * width for m in range(len(months))], values, width,
               label=name, color=PALETTE[i])
    ax.set_xticks(range(len(months)), months, rotation=45 if len(months) > 6 else 0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_ylabel(unit)
    ax.legend(frameon=False, ncols=len(series), loc="upper left", bbox_to_anchor=(0, -0.12 if len(months) <= 6
                                                                                     else -0.25))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def all_charts(fig: Figures) -> dict[str, bytes | None]:
    """Every chart of the report by key; a key is None when its figure has nothing to draw."""
    dest = destination_colours(fig)
    months = [m.label for m in fig.by_month]
    return {
        "monthly": monthly("Reports handled and cases sent on, by month", months, {
            "reports handled": [m.reports for m in fig.by_month],
            "with illegal content": [m.reports_illegal for m in fig.by_month],
            "sent to police": [m.cases_to_police for m in fig.by_month],
            "sent to partner hotlines": [m.cases_to_hotlines for m in fig.by_month]}, "cases"),
        "by_category": bars("Cases by category", fig.cases_by_category, "cases", CATEGORY_COLOURS),
        "by_legal_class": bars("Items by legal class", fig.items_by_legal_class, "items", LEGAL_COLOURS),
        "by_hosting_country": bars("Items by hosting country (top 15)", fig.items_by_hosting_country, "items"),
        "deliveries_by_destination": bars("Messages delivered, by destination",
                                          {p: s.get("delivered", 0) for p, s in fig.deliveries_by_destination.items()},
                                          "messages delivered", dest),
        "removed_within": bars("Illegal items removed within 1, 3 and 7 days",
                               {f"within {d} day{'s' if d != '1' else ''}": v
                                for d, v in fig.removed_within_days.items()},
                               "share of the period's illegal items", percent=True) if fig.removed_items else None,
        "time_to_removal": columns("Time from first notice to removal", fig.time_to_removal["buckets"],
                                   "illegal items removed"),
        "latency": bars("Median delivery latency by destination",
                        {p: v["median"] for p, v in fig.delivery_latency_s.items()}, "seconds", dest),
    }
