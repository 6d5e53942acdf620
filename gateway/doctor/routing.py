"""Routing: rules that can never match, partners no rule reaches, and TLP ceilings that hold back cases.

Rules are not reasoned about symbolically: the real ``Router`` routes one probe case for every combination
that can tell rules apart (origin, category, legal class, and a hosting country of each kind: home, each
partner hotline's country, every country a rule names, another one, unknown). A rule that matches none of
them can never match anything. Ceilings are judged on realistic cases (the caller passes sample cases):
a partner that rules name but that receives none of them because of its TLP ceiling blocks everything.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from hotline_gateway.config import Config
from hotline_gateway.core.model import Case, Category, LegalClass, Tlp, load_case
from hotline_gateway.doctor.findings import Finding, must_fix, ok, warn
from hotline_gateway.pipeline.route import Router

CHECK = "routing"
#: a country no hotline, rule or home uses (ISO 3166 reserves ZZ for user assignment)
OTHER_COUNTRY = "ZZ"
PROBE_SENDER = "doctor-probe"


def _probe(category: Category, legal: LegalClass, country: str | None, tlp: Tlp = Tlp.CLEAR) -> Case:
    item: dict[str, Any] = {"item_id": str(uuid.uuid4()), "url": "https://probe.example.org/x",
                            "legal_class": legal.value}
    if country is not None:
        item["assigned_country"] = country
    return load_case({
        "case_id": str(uuid.uuid4()), "received_at": "2026-01-01T00:00:00Z", "source_channel": "web_form",
        "reporter": {"kind": "anonymous"}, "originator": PROBE_SENDER, "category": category.value,
        "tlp": tlp.value, "priority": "normal", "status": "assessed", "items": [item],
    })


def _countries(config: Config) -> list[str | None]:
    named = {c for r in config.routes for c in (r.hosted_in or ()) if len(c) == 2 and c.isupper()}
    hotlines = {p.country for p in config.partners.values() if p.kind == "hotline" and p.country}
    return [config.country, *sorted(hotlines | named - {config.country}), OTHER_COUNTRY, None]


def _probes(config: Config) -> list[tuple[str, Case]]:
    return [(origin, _probe(cat, legal, country)) for origin, cat, legal, country in itertools.product(
        ("local", PROBE_SENDER), Category, LegalClass, _countries(config))]


def _matched(config: Config, probes: list[tuple[str, Case]]) -> dict[str, set[int]]:
    """Rule name -> indexes of the probes it matched under ``config``'s rules."""
    router = Router(config)
    hits: dict[str, set[int]] = {}
    for i, (origin, case) in enumerate(probes):
        for d in router.route(case, origin).decisions:
            hits.setdefault(d.rule, set()).add(i)
    return hits


def check_rules(config: Config) -> list[Finding]:
    probes = _probes(config)
    hits = _matched(config, probes)
    finals = [r.name for r in config.routes if r.final]
    found: list[Finding] = []
    for route in config.routes:
        if route.name in hits:
            continue
        alone = _matched(dataclasses.replace(config, routes=(route,)), probes).get(route.name, set())
        if not alone:  # nothing in this configuration can satisfy it (say, hosted_in partner with no partner abroad)
            found.append(warn(CHECK, route.name, "this rule matches nothing with the partners configured (e.g. "
                              "hosted_in 'partner' needs a partner hotline in another country)"))
            continue
        stoppers = [name for name in finals if hits.get(name, set()) & alone]
        found.append(must_fix(CHECK, route.name, "this rule can never match: every case it would take is stopped "
                              f"earlier by final rule(s) {', '.join(stoppers)}",
                              "move it above them, narrow them, or remove it"))
    reached = {d.destination for origin, case in probes for d in Router(config).route(case, origin).decisions}
    for partner in config.partners.values():
        if partner.id not in reached and partner.kind not in {"host", "platform"} and partner.transport != "taxii":
            hint = {"law_enforcement": f"@police reaches law enforcement of our country ({config.country}) only",
                    "hotline": "@hotline reaches a hotline by its country: is `country` set?"}.get(partner.kind, "")
            found.append(warn(CHECK, partner.id, "no rule ever sends anything to it", hint or None))
    if not found:
        found.append(ok(CHECK, "rules", f"each of the {len(config.routes)} rules can match"))
    return found


def check_ceilings(config: Config, cases: Iterable[Case]) -> list[Finding]:
    """Route realistic cases; report partners whose TLP ceiling holds back some or all of what rules send them."""
    router = Router(config)
    named: Counter[str] = Counter()  # cases (not items) that rules send to each partner
    sent: Counter[str] = Counter()
    held: dict[str, Counter[str]] = {}
    for case in cases:
        decisions = [d for d in router.route(case, "local").decisions if d.destination in config.partners]
        for pid in {str(d.destination) for d in decisions}:
            named[pid] += 1
            mine = [d for d in decisions if d.destination == pid]
            if any(d.sent for d in mine):
                sent[pid] += 1
            elif any(d.reason.startswith("TLP ") for d in mine):
                held.setdefault(pid, Counter())[case.tlp.value] += 1
    found: list[Finding] = []
    for pid, counts in sorted(held.items()):
        ceiling = config.partners[pid].tlp_max.value
        detail = ", ".join(f"{n} {tlp}" for tlp, n in sorted(counts.items()))
        if not sent[pid]:
            found.append(must_fix(CHECK, pid, f"its TLP ceiling {ceiling} blocks every sample case rules send it "
                                  f"({detail})", f"raise tlp_max for {pid} if it may see these cases"))
        else:
            share = sum(counts.values()) / named[pid]
            found.append(warn(CHECK, pid, f"{share:.0%} of the sample cases rules send it are above its TLP ceiling "
                              f"{ceiling} ({detail}) and stay here",
                              "expected for cases marked amber+strict or red; otherwise raise tlp_max"))
    if not found and named:
        found.append(ok(CHECK, "ceilings", "no partner's TLP ceiling holds back a sample case"))
    return found
