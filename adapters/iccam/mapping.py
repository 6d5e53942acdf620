"""Versioned tables between ICCAM's numeric value lists and canonical values.

A value list can change (renumbered, extended); the numbers in a report mean what the table of *its*
``mappingVersion`` says, so a partner still on an older list is read correctly and a report on a list we
do not know is refused by name instead of being misread. The tables live beside the wire schema as
``schemas/iccam/mapping-v<N>.json``, each stating its own version, and are read once, when the adapter
is built, so decoding does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import orjson

from hotline_gateway.schemas import path as schema_path

#: every table version this build reads; encoding writes CURRENT
VERSIONS = (1,)
CURRENT = 1
LISTS = ("classification", "ageCategorization", "genderCategorization", "commerciality", "contentType",
         "mediaType", "siteType", "actionType")


@dataclass(frozen=True, slots=True)
class ValueLists:
    """One version's lists, both ways: number to value for decoding, value to number for encoding."""

    version: int
    values: Mapping[str, Mapping[int, str]]
    codes: Mapping[str, Mapping[str, int]]

    def code(self, name: str, value: str) -> int:
        return self.codes[name][value]

    def value(self, name: str, code: int) -> str | None:
        """The value a number stands for in this version; None when the list has no such number."""
        return self.values[name].get(code)


def load(version: int, directory: Path | None = None) -> ValueLists:
    """Read one table. A table that contradicts its file name, lacks a list or gives two numbers one value
    is a packaging error, raised as ValueError when the adapter is built rather than met while decoding."""
    file = (directory or schema_path("iccam")) / f"mapping-v{version}.json"
    raw = orjson.loads(file.read_bytes())
    if raw.get("version") != version:
        raise ValueError(f"{file.name} says it is version {raw.get('version')!r}")
    lists = raw.get("lists", {})
    if missing := [name for name in LISTS if name not in lists]:
        raise ValueError(f"{file.name} lacks the value lists {', '.join(missing)}")
    values: dict[str, Mapping[int, str]] = {}
    for name in LISTS:
        table = {int(code): value for code, value in lists[name].items()}
        if len(set(table.values())) != len(table):
            raise ValueError(f"{file.name}: {name} gives two numbers the same value")
        values[name] = MappingProxyType(table)
    codes = {name: MappingProxyType({v: k for k, v in table.items()}) for name, table in values.items()}
    return ValueLists(version, MappingProxyType(values), MappingProxyType(codes))


def load_all(directory: Path | None = None) -> dict[int, ValueLists]:
    return {version: load(version, directory) for version in VERSIONS}
