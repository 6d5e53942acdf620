"""``report``: the period's statistics as one offline HTML file with charts and tables, or as JSON."""

from __future__ import annotations

import argparse
from datetime import date

import orjson

from hotline_gateway.cli.files import write_output
from hotline_gateway.core.errors import BadInput


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="statistics for a period: HTML with charts, or JSON")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day (YYYY-MM-DD, UTC)")
    p.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day, included")
    p.add_argument("--format", choices=("html", "json"), default="html")
    p.add_argument("-o", "--output", metavar="FILE", help="output file (default: standard output)")
    p.set_defaults(run=run_report)


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{flag} {text!r}: not a date (YYYY-MM-DD)") from None


def run_report(args: argparse.Namespace) -> int:
    from hotline_gateway import config as config_mod
    from hotline_gateway.cli import aio
    from hotline_gateway.store import open_store, store_exists
    from hotline_gateway.store.report_records import ReportCase, ReportDelivery

    config = config_mod.load(args.config)
    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    if end < start:
        raise BadInput("--to is before --from")
    if not store_exists(config):
        raise BadInput(f"{config.db_path}: no store yet (has the gateway run?)")
    # Imported here: matplotlib costs every other command ~40 MB and a noticeable start-up time.
    from hotline_gateway.report.figures import compute, period_bounds
    from hotline_gateway.report.html import render

    lo, hi = period_bounds(start, end)

    async def read() -> tuple[list[ReportCase], list[ReportDelivery]]:
        store = await open_store(config, recover=False)
        try:
            return await store.report_cases(lo, hi), await store.report_deliveries(lo, hi)
        finally:
            await store.close()

    cases, deliveries = aio.run(read())
    kinds = {p.id: p.kind for p in config.partners.values()}
    figures = compute(cases, deliveries, config.id, start, end, kinds)
    # --json (every command's machine-readable switch) means the JSON figures here too, not HTML
    data = orjson.dumps(figures.as_dict(), option=orjson.OPT_INDENT_2) if args.format == "json" or args.json \
        else render(figures).encode("utf-8")
    write_output(args.output, data)
    return 0
