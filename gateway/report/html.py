"""One self-contained HTML file: inline style, charts as data: URIs, every figure also as a table.

Nothing is loaded from anywhere, so the report opens offline and can be mailed as it is. Every value
is escaped; the figures hold no URL and no reporter data to begin with.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from gateway.report.charts import all_charts
from gateway.report.figures import Figures

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


def render(fig: Figures) -> str:
    charts = all_charts(fig)
    sections = [
        ("Cases by category", "cases_by_category", _table(["category", "cases"], [[k, v] for k, v in
                                                                                  fig.cases_by_category.items()])),
        ("Items by legal class", "items_by_legal_class",
         _table(["legal class", "items"], [[k, v] for k, v in fig.items_by_legal_class.items()])),
        ("Items by hosting country", "items_by_hosting_country",
         _table(["country", "items"], [[k, v] for k, v in fig.items_by_hosting_country.items()])),
        ("Deliveries by destination", "deliveries_by_destination",
         _table(["destination", "state", "messages"], [[p, s, n] for p, states in
                                                       fig.deliveries_by_destination.items()
                                                       for s, n in states.items()])),
        ("Removal of illegal items", "removed_within",
         _table(["removed within", "share of illegal items"],
                [[f"{d} day(s)", f"{v:.1%}"] for d, v in fig.removed_within_days.items()])),
        ("Time to removal", "time_to_removal",
         _table(["items removed", "median hours", "max hours"],
                [[fig.removed_items, _median(fig.time_to_removal_hours), max(fig.time_to_removal_hours, default=0)]])),
        ("Delivery latency by partner", "latency",
         _table(["partner", "delivered", "median s", "p90 s", "max s"],
                [[p, int(v["count"]), v["median"], v["p90"], v["max"]] for p, v in fig.delivery_latency_s.items()])),
    ]
    body = "".join(f"<h2>{escape(title)}</h2>{_img(charts[key], title)}{table}" for title, key, table in sections)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(fig.gateway)} report '
            f"{escape(fig.period_from)} to {escape(fig.period_to)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(fig.gateway)}: statistics {escape(fig.period_from)} to {escape(fig.period_to)}</h1>"
            f'<p class="kpi">{fig.cases} cases, {fig.items} items, {fig.illegal_items} illegal, '
            f"{fig.removed_items} reported removed</p>{body}"
            "<p><small>Counts and durations only: no address and no reporter data appear in this report."
            "</small></p></body></html>")


def _median(values: list[float]) -> float:
    if not values:
        return 0.0
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else round((values[mid - 1] + values[mid]) / 2, 3)
