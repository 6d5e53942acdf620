"""What the XML adapter tests share: the adapters under test, cases XML can carry, carried-field views."""

from __future__ import annotations

import re
from typing import Any

import orjson
from hypothesis import strategies as st

from hotline_gateway.adapters.cybertip import CybertipAdapter
from hotline_gateway.adapters.cybertip.mapping import INCIDENT_TYPES
from hotline_gateway.adapters.iodef import IodefAdapter
from hotline_gateway.adapters.registry import Adapter
from hotline_gateway.core.model import Case, dump_case, load_case
from hotline_gateway.core.xmlsafe import is_any_uri
from tests.strategies import _addressed, cases

IODEF = IodefAdapter()
CYBERTIP = CybertipAdapter()
ADAPTERS: list[Adapter] = [IODEF, CYBERTIP]

#: characters outside XML 1.0's Char production (the adapters refuse them with EncodeError)
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return NOT_XML.sub("?", value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


def xml_safe(case: Case) -> Case:
    """The same case with every character XML 1.0 cannot carry replaced by ``?`` (lengths unchanged)."""
    return load_case(_scrub(dump_case(case)))


#: canonical cases whose text XML can carry and whose URLs are xs:anyURI (rare exceptions, tested apart)
xml_cases: st.SearchStrategy[Case] = cases.map(xml_safe).filter(
    lambda case: all(item.url is None or is_any_uri(item.url) for item in case.items))


def cases_for(adapter: Adapter) -> st.SearchStrategy[Case]:
    """Cases the adapter can encode: for the CyberTipline only the categories it has incident types for."""
    if adapter is CYBERTIP:  # it reports addresses: its cases have one for every item
        return st.tuples(xml_cases.map(_addressed), st.sampled_from(sorted(INCIDENT_TYPES))).map(_with_category)
    return xml_cases


def _with_category(pair: tuple[Case, Any]) -> Case:
    case, category = pair
    case.category = category
    return case


def carried(case: Case, carries: frozenset[str]) -> dict[str, list[str]]:
    """Every carried leaf path with its values, sorted (formats may regroup list entries, e.g. hashes)."""
    out: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(sub, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for v in value:
                walk(v, path + "[]")
        elif path in carries:
            out.setdefault(path, []).append(orjson.dumps(value).decode())

    walk(dump_case(case), "")
    return {k: sorted(v) for k, v in out.items()}
