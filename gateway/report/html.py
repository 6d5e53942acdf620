"""One self-contained HTML file: the funder summary on its first page, then the details, every chart with its
table. A period without cases says so in one sentence; a figure without data says so instead of a chart.

Nothing is loaded from anywhere, so the report opens offline and can be mailed as it is. Every value is
escaped; the figures hold no URL and no reporter data to begin with.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from hotline_gateway.report.charts import all_charts
from hotline_gateway.report.figures import Figures, Period

STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:62em;color:#1d2733;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccd;padding:.2em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}td:first-child{white-space:nowrap}
img{max-width:100%;display:block;margin:.8em 0}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(13em,1fr));gap:.8em;margin:1em 0}
.kpi{border:1px solid #ccd;border-radius:6px;padding:.6em .8em}.kpi b{display:block;font-size:1.7em}
.kpi span{color:#4a5866;font-size:.9em}.none{color:#4a5866;font-style:italic}.sub{color:#4a5866}
@media print{.page{break-after:page}}"""


def _cell(c: Any) -> str:
    if isinstance(c, int | float):
        return f'<td class="n">{escape(str(c))}</td>'
    return f"<td>{escape(str(c))}</td>"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _pairs(*columns: dict[str, int]) -> list[list[Any]]:
    """Rows of a key and its value in each column, in the first column's order."""
    return [[k, *(c.get(k, 0) for c in columns)] for k in columns[0]]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _hours(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def _kpi(value: str, label: str) -> str:
    return f'<div class="kpi"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _summary(fig: Figures, charts: dict[str, bytes | None]) -> str:
    s: Period = fig.summary
    within = s.removed_within_days
    removal = (f"{_pct(within['1'])} / {_pct(within['3'])} / {_pct(within['7'])}" if fig.removed_items
               else "none reported")
    tiles = "".join([
        _kpi(str(s.reports), "reports handled"),
        _kpi(_pct(s.share_illegal), f"confirmed illegal ({s.reports_illegal} reports, {s.illegal_items} items)"),
        _kpi(removal, f"of {s.illegal_items} illegal items removed within 1 / 3 / 7 days"),
        _kpi(_hours(s.median_removal_hours), "median time to removal"),
        _kpi(str(s.cases_to_police), "cases sent to the police"),
        _kpi(str(s.cases_to_hotlines), "cases sent to partner hotlines"),
    ])
    rows = [[m.label, m.reports, m.reports_illegal, _pct(m.share_illegal), _pct(m.removed_within_days["1"]),
             _pct(m.removed_within_days["3"]), _pct(m.removed_within_days["7"]), _hours(m.median_removal_hours),
             m.cases_to_police, m.cases_to_hotlines] for m in fig.by_month]
    return (f'<section id="summary" class="page"><h2>Summary</h2><div class="kpis">{tiles}</div>'
            + _img(charts["monthly"], "Reports handled and cases sent on, by month")
            + _table(["month", "reports", "illegal", "share illegal", "removed ≤ 1 day", "≤ 3 days", "≤ 7 days",
                      "median time to removal", "to police", "to partner hotlines"], rows)
            + '<p class="sub">A report is illegal when at least one of its items was assessed baseline or national '
              "(illegal here). Removal counts the illegal items reported removed or unavailable, from the first "
              "notice to a host or the police (from receipt, without a notice); items without such a report are "
              "not counted as removed. A case counts as sent when a partner of that kind acknowledged a message "
              "about it.</p></section>")


def _details(fig: Figures, charts: dict[str, bytes | None]) -> str:
    ttr = fig.time_to_removal
    latency_rows = [[p, int(v["count"]), v["median"], v["p90"], v["max"]] for p, v in fig.delivery_latency_s.items()]
    delivery_rows = [[p, s, n] for p, states in fig.deliveries_by_destination.items() for s, n in states.items()]
    sections: list[tuple[str, str, str, str | None]] = [
        ("Cases and items by category", "by_category", "",
         _table(["category", "cases", "items"], _pairs(fig.cases_by_category, fig.items_by_category))),
        ("Items and cases by legal class", "by_legal_class", "A case counts under every class its items have.",
         _table(["legal class", "items", "cases"], _pairs(fig.items_by_legal_class, fig.cases_by_legal_class))),
        ("Items and cases by hosting country", "by_hosting_country",
         "The country assigned to the item, else the one its hosting resolved to.",
         _table(["country", "items", "cases"], _pairs(fig.items_by_hosting_country, fig.cases_by_hosting_country))),
        ("Deliveries by destination", "deliveries_by_destination",
         "Messages about the period's cases, by destination and state.",
         _table(["destination", "state", "messages"], delivery_rows) if delivery_rows else None),
        ("Removal of illegal items", "removed_within",
         f"Share of the period's {fig.illegal_items} illegal items (baseline or national) reported removed or "
         "unavailable within N days of the first notice to a host or the police (of receipt, without a notice).",
         _table(["removed within", "items", "share of illegal items"],
                [[f"{d} day(s)", fig.removed_within_days_items[d], f"{v:.1%}"]
                 for d, v in fig.removed_within_days.items()]) if fig.removed_items else None),
        ("Time to removal", "time_to_removal",
         f"{ttr['count']} illegal items reported removed; median {_hours(ttr['median_hours'])}, 90th percentile "
         f"{_hours(ttr['p90_hours'])}, longest {_hours(ttr['max_hours'])}.",
         _table(["time to removal", "items"], [[k, v] for k, v in ttr["buckets"].items()]) if ttr["count"] else None),
        ("Delivery latency by destination", "latency",
         "From the moment a message was queued to the moment the partner acknowledged it, in seconds.",
         _table(["destination", "delivered", "median s", "p90 s", "max s"], latency_rows) if latency_rows else None),
    ]
    none = {"deliveries_by_destination": "Nothing was sent to any partner about the period's cases.",
            "removed_within": f"No removal was reported for the period's {fig.illegal_items} illegal items.",
            "time_to_removal": "No removal was reported, so there is no time to removal to show.",
            "latency": "No message about the period's cases has been acknowledged yet."}
    out = []
    for title, key, note, table in sections:
        body = (f"<p>{escape(note)}</p>" if note and table else "") + _img(charts[key], title) + (table or "")
        if table is None:
            body = f'<p class="none">{escape(none[key])}</p>'
        out.append(f'<h2 id="{key}">{escape(title)}</h2>{body}')
    return "<section>" + "".join(out) + "</section>"


def render(fig: Figures) -> str:
    period = f"{escape(fig.period_from)} to {escape(fig.period_to)}"
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(fig.gateway)} report '
            f"{period}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(fig.gateway)}: reports received {period}</h1>"
            f'<p class="sub">Cases received from {period} (UTC days, both included), with everything that followed '
            "them: deliveries, notices and removals up to the moment of this report.</p>")
    foot = ("<p><small>Counts and durations only: no address and no reporter data appear in this report."
            "</small></p></body></html>")
    if fig.empty:
        return (head + f'<p class="none" id="empty">No cases were received from {period}, so there is nothing to '
                "report for this period.</p>" + foot)
    charts = all_charts(fig)
    return head + _summary(fig, charts) + _details(fig, charts) + foot
