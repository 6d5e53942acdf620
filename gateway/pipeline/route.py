"""Routing: declarative rules turn each item of a case into destinations, filtered by partner policy.

Rules are tried in order for every item; each matching rule adds its destinations, and a ``final``
rule stops the search for that item. Symbolic destinations resolve per item: ``@police`` (law
enforcement in our country), ``@hotline`` (the hotline of the hosting country), ``@host`` (the
host's abuse desk, by ASN or organisation), ``@network`` (network channels such as INHOPE's).
Every decision, sent or not, is recorded with its reason and stored with the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline_gateway.config import Config, Partner, Route
from hotline_gateway.core.lifecycle import item_retracted
from hotline_gateway.core.model import Case, Item


@dataclass(slots=True)
class Decision:
    item_id: str
    rule: str
    destination: str | None
    sent: bool
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"item_id": self.item_id, "rule": self.rule, "destination": self.destination, "sent": self.sent,
                "reason": self.reason}


@dataclass(slots=True)
class Routed:
    """What one destination receives of a case: the items routed to it."""

    partner: Partner
    item_ids: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RoutingResult:
    destinations: list[Routed]
    decisions: list[Decision]


class Router:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.hotlines = {p.country: p for p in config.partners.values() if p.kind == "hotline" and p.country}
        self.police = [p for p in config.partners.values()
                       if p.kind == "law_enforcement" and p.country == config.country]
        self.network = [p for p in config.partners.values() if p.kind == "network"]
        self.hosts = [p for p in config.partners.values() if p.kind in {"host", "platform"}]

    def where(self, item: Item) -> tuple[str, str | None]:
        """Classify the hosting country: home, partner (a partner hotline's country), elsewhere or unknown."""
        country = item.hosting_country
        if country is None:
            return "unknown", None
        if country == self.config.country:
            return "home", country
        if country in self.hotlines:
            return "partner", country
        return "elsewhere", country

    def _matches(self, route: Route, case: Case, item: Item, origin_kind: str) -> bool:
        where, country = self.where(item)
        return (
            (route.origin is None or origin_kind in route.origin)
            and (route.category is None or case.category.value in route.category)
            and (route.legal_class is None or item.legal_class.value in route.legal_class)
            and (route.hosted_in is None or where in route.hosted_in or (country or "") in route.hosted_in)
        )

    def _resolve(self, dest: str, item: Item) -> tuple[list[Partner], str]:
        if dest == "@police":
            return self.police, "no law-enforcement partner in our country"
        if dest == "@hotline":
            country = item.hosting_country
            hotline = self.hotlines.get(country or "")
            return ([hotline] if hotline else []), f"no partner hotline in {country or 'an unknown country'}"
        if dest == "@network":
            return self.network, "no network partner configured"
        if dest == "@host":
            hosting = item.hosting
            found = [
                p for p in self.hosts
                if hosting is not None
                and ((hosting.asn is not None and hosting.asn in p.asns)
                     or (hosting.organisation is not None and hosting.organisation in p.organisations))
            ]
            return found, "no abuse contact known for this host"
        return [self.config.partners[dest]], ""

    def _policy(self, partner: Partner, case: Case, item: Item, origin: str) -> str | None:
        """Why a partner may not receive this item of the case, or None if it may."""
        if partner.id == origin:
            return "never sent back to its sender"
        if item_retracted(case, item) and not partner.forward_retracted:
            return f"retracted by its originator; {partner.id} is not sent retracted items (forward_retracted)"
        if case.category not in partner.categories:
            return f"{partner.id} does not accept category {case.category.value}"
        if case.tlp.rank > partner.tlp_max.rank:
            return f"TLP {case.tlp.value} above {partner.id}'s ceiling {partner.tlp_max.value}"
        return None

    def route(self, case: Case, origin: str) -> RoutingResult:
        """``origin`` is ``local`` for our own case system, else the sending partner's id."""
        origin_kind = "local" if origin == "local" else "partner"
        by_partner: dict[str, Routed] = {}
        decisions: list[Decision] = []
        for item in case.items:
            item_id = str(item.item_id)
            matched = False
            for route in self.config.routes:
                if not self._matches(route, case, item, origin_kind):
                    continue
                matched = True
                if not route.to:
                    decisions.append(Decision(item_id, route.name, None, False, "rule forwards nothing"))
                for dest in route.to:
                    partners, missing = self._resolve(dest, item)
                    if not partners:
                        decisions.append(Decision(item_id, route.name, dest, False, missing))
                    for partner in partners:
                        refused = self._policy(partner, case, item, origin)
                        if refused:
                            decisions.append(Decision(item_id, route.name, partner.id, False, refused))
                            continue
                        routed = by_partner.setdefault(partner.id, Routed(partner))
                        if item_id not in routed.item_ids:
                            routed.item_ids.append(item_id)
                        if route.name not in routed.rules:
                            routed.rules.append(route.name)
                        decisions.append(Decision(item_id, route.name, partner.id, True, f"rule {route.name}"))
                if route.final:
                    break
            if not matched:
                decisions.append(Decision(item_id, "-", None, False, "no rule matched"))
        return RoutingResult(list(by_partner.values()), decisions)
