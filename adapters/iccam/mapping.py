"""Versioned mapping tables between ICCAM's numeric value lists and canonical values.

The lists live in ``schemas/iccam/mapping-v<N>.json``; a document names the version it was written
with, so a partner on an older list is still read correctly and an unknown version is refused by name.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import orjson

from schemas import path as schema_path

CURRENT = 1
LISTS = ("classification", "ageCategorization", "genderCategorization", "commerciality", "contentType",
         "siteType", "actionType")


@dataclass(frozen=True, slots=True)
class Mapping:
    version: int
    to_canonical: dict[str, dict[int, str]]
    to_code: dict[str, dict[str, int]]

    def code(self, name: str, value: str) -> int:
        return self.to_code[name][value]

    def value(self, name: str, code: int) -> str | None:
        return self.to_canonical[name].get(code)


@functools.cache
def mapping(version: int) -> Mapping | None:
    try:
        raw = orjson.loads(schema_path(f"iccam/mapping-v{version}.json").read_bytes())
    except (FileNotFoundError, OSError):
        return None
    forward = {name: {int(k): v for k, v in raw[name].items()} for name in LISTS}
    return Mapping(version, forward, {name: {v: k for k, v in table.items()} for name, table in forward.items()})
