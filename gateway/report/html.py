"""One self-contained HTML file: inline style, charts as data: URIs, every figure also as a table.

Nothing is loaded from anywhere, so the report opens offline and can be mailed as it is. Every value
is escaped; the figures hold no URL and no reporter data to begin with.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from hotline_gateway.report.charts import all_charts
from hotline_gateway.report.figures import Figures

STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1d2733}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccd;padding:.2em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}.kpi{font-size:1.3em}"""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td class="n">{escape(str(c))}</td>' if isinstance(c, int | float) else f"<td>{escape(str(c))}</td>"
        for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _pairs(*columns: dict[str, int]) -> list[list[Any]]:
    """Rows of a key and its value in each column, in the first column's order."""
    return [[k, *(c.get(k, 0) for c in columns)] for k in columns[0]]


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def render(fig: Figures) -> str:
    charts = all_charts(fig)
    ttr = fig.time_to_removal
    sections = [
        ("Cases and items by category", "by_category", "",
         _table(["category", "cases", "items"], _pairs(fig.cases_by_category, fig.items_by_category))),
        ("Items and cases by legal class", "by_legal_class",
         "A case counts under every class its items have.",
         _table(["legal class", "items", "cases"], _pairs(fig.items_by_legal_class, fig.cases_by_legal_class))),
        ("Items and cases by hosting country", "by_hosting_country",
         "The country assigned to the item, else the one its hosting resolved to.",
         _table(["country", "items", "cases"], _pairs(fig.items_by_hosting_country, fig.cases_by_hosting_country))),
        ("Deliveries by destination", "deliveries_by_destination", "",
         _table(["destination", "state", "messages"], [[p, s, n] for p, states in
                                                       fig.deliveries_by_destination.items()
                                                       for s, n in states.items()])),
        ("Removal of illegal items", "removed_within",
         f"Share of the period's {fig.illegal_items} illegal items (baseline or national) reported removed or "
         "unavailable within N days of the first notice to a host or the police (of receipt, without a notice).",
         _table(["removed within", "items", "share of illegal items"],
                [[f"{d} day(s)", fig.removed_within_days_items[d], f"{v:.1%}"]
                 for d, v in fig.removed_within_days.items()])),
        ("Time to removal", "time_to_removal",
         f"{ttr['count']} illegal items reported removed; median {_hours(ttr['median_hours'])} h, 90th percentile "
         f"{_hours(ttr['p90_hours'])} h, longest {_hours(ttr['max_hours'])} h.",
         _table(["time to removal", "items"], [[k, v] for k, v in ttr["buckets"].items()])),
        ("Delivery latency by partner", "latency",
         "From the moment a message was queued to the moment the partner acknowledged it.",
         _table(["partner", "delivered", "median s", "p90 s", "max s"],
                [[p, int(v["count"]), v["median"], v["p90"], v["max"]] for p, v in fig.delivery_latency_s.items()])),
    ]
    body = "".join(f"<h2>{escape(title)}</h2>" + (f"<p>{escape(note)}</p>" if note else "")
                   + f"{_img(charts[key], title)}{table}" for title, key, note, table in sections)
    period = f"{escape(fig.period_from)} to {escape(fig.period_to)}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(fig.gateway)} report '
            f"{period}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(fig.gateway)}: statistics {period}</h1>"
            f'<p class="kpi">{fig.cases} cases, {fig.items} items, {fig.illegal_items} illegal, '
            f"{fig.removed_items} reported removed</p>"
            f"<p>Cases received from {period} (UTC days, both included), with everything that followed them: "
            f"deliveries, notices and removals up to the moment of this report.</p>{body}"
            "<p><small>Counts and durations only: no address and no reporter data appear in this report."
            "</small></p></body></html>")
