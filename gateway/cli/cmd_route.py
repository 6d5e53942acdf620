"""``route``: where a case would go and why, item by item, from the same router and reasons the gateway stores.

Nothing here decides anything: ``Router`` (``pipeline/route.py``) routes, and this command only lays its
``Decision`` records out per item, telling apart a destination a rule added, one a policy removed (TLP
ceiling, categories, never back to the sender) and a symbolic destination no partner stands behind.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import orjson

from hotline_gateway.cli.files import read_input
from hotline_gateway.cli.output import emit
from hotline_gateway.core.errors import BadInput, FieldProblem, ValidationError

if TYPE_CHECKING:
    from hotline_gateway import config as config_mod
    from hotline_gateway.core.model import Case
    from hotline_gateway.pipeline.route import Decision


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("route", parents=[common],
                       help="explain where each item of a case would go: rules matched, destinations, policies")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("case", metavar="CASE.json", help="one case, a JSON array of cases, or JSON Lines ('-' for stdin)")
    p.add_argument("--origin", default="local", metavar="ID",
                   help="who sent the case: local (our case system, default) or a partner id")
    p.set_defaults(run=run_route)


def _documents(name: str) -> list[Any]:
    data = read_input(name)
    try:
        doc = orjson.loads(data)
        return doc if isinstance(doc, list) else [doc]
    except orjson.JSONDecodeError:
        pass
    docs = []
    for n, line in enumerate(data.splitlines(), 1):
        if line.strip():
            try:
                docs.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise BadInput(f"{name}: line {n}: not JSON ({exc})") from None
    return docs


def _cases(name: str) -> list[Case]:
    from hotline_gateway.core.model import load_case
    from hotline_gateway.core.schema import case_validator

    docs = _documents(name)
    if not docs:
        raise BadInput(f"{name}: no case in it")
    validator = case_validator()
    problems = [FieldProblem(f"case {i + 1}: {p.path}", p.message) for i, d in enumerate(docs)
                for p in validator.problems(d)]
    if problems:
        raise ValidationError(problems, source=name)
    return [load_case(d) for d in docs]


def _kind(config: config_mod.Config, d: Decision) -> str:
    """added | removed (a policy refused a partner a rule named) | unresolved (no partner behind @...) | nothing."""
    if d.sent:
        return "added"
    if d.destination in config.partners:
        return "removed"
    return "unresolved" if d.destination else "nothing"


def explain(config: config_mod.Config, case: Case, origin: str) -> dict[str, Any]:
    from hotline_gateway.pipeline.route import Router

    router = Router(config)
    result = router.route(case, origin)
    finals = {r.name for r in config.routes if r.final}
    items = []
    for index, item in enumerate(case.items, 1):
        where, country = router.where(item)
        decisions = [d for d in result.decisions if d.item_id == str(item.item_id)]
        items.append({
            "n": index, "item_id": str(item.item_id), "legal_class": item.legal_class.value,
            "hosted_in": where, "country": country,
            "rules": list(dict.fromkeys(d.rule for d in decisions if d.rule != "-")),
            "final": next((d.rule for d in decisions if d.rule in finals), None),
            "decisions": [{**d.as_dict(), "kind": _kind(config, d)} for d in decisions],
        })
    return {"case_id": str(case.case_id), "category": case.category.value, "tlp": case.tlp.value, "origin": origin,
            "items": items, "destinations": {r.partner.id: r.item_ids for r in result.destinations}}


_MARK = {"added": "+", "removed": "-", "unresolved": "?", "nothing": "·"}
_WHERE = {"home": "at home", "partner": "in a partner hotline's country", "elsewhere": "elsewhere",
          "unknown": "hosting unknown"}


def _text(report: dict[str, Any]) -> str:
    lines = [f"case {report['case_id']}  category {report['category']}, TLP {report['tlp']}, "
             f"from {report['origin']}, {len(report['items'])} item(s)"]
    for item in report["items"]:
        country = f" ({item['country']})" if item["country"] else ""
        lines.append(f"  item {item['n']} {item['item_id']}: {item['legal_class']}, hosted "
                     f"{_WHERE[item['hosted_in']]}{country}")
        rule = None
        for d in item["decisions"]:
            if d["rule"] == "-":
                lines.append("    no rule matched: nothing is sent")
                continue
            if d["rule"] != rule:
                rule = d["rule"]
                lines.append(f"    rule {rule} matched" + ("; final, no later rule is tried" if rule == item["final"]
                                                             else ""))
            dest = d["destination"] or "(no destination)"
            text = {"added": f"{dest} added", "removed": f"{dest} removed by policy: {d['reason']}",
                    "unresolved": f"{dest}: not sent, {d['reason']}", "nothing": d["reason"]}[d["kind"]]
            lines.append(f"      {_MARK[d['kind']]} {text}")
    if report["destinations"]:
        for partner, item_ids in report["destinations"].items():
            numbers = [str(i["n"]) for i in report["items"] if i["item_id"] in item_ids]
            lines.append(f"  => {partner} receives item(s) {', '.join(numbers)}")
    else:
        lines.append("  => routes nowhere: stored here, sent to no one (reasons above)")
    return "\n".join(lines)


def run_route(args: argparse.Namespace) -> int:
    from hotline_gateway import config as config_mod

    config = config_mod.load(args.config)
    if args.origin != "local" and args.origin not in config.partners:
        raise BadInput(f"--origin {args.origin!r}: not local and not a partner in {config.path}")
    reports = [explain(config, case, args.origin) for case in _cases(args.case)]
    emit(args, reports[0] if len(reports) == 1 else reports, "\n\n".join(_text(r) for r in reports))
    return 0
