"""Helpers for the JSON adapter tests: an independent judge of each wire schema and views of a case."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from hotline_gateway.adapters.native import NativeAdapter
from hotline_gateway.core.model import Case, dump_case

#: every canonical field path, as adapters name them in ``carries``
CANONICAL_PATHS = NativeAdapter().carries


def schema_judge(path: Path) -> Callable[[bytes], list[str]]:
    """Problems the reference implementation (python-jsonschema, formats asserted) finds in a document;
    independent of the Rust validator the adapters use themselves."""
    schema = orjson.loads(path.read_bytes())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def judge(data: bytes) -> list[str]:
        return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(orjson.loads(data))]

    return judge


def project(value: Any, carries: frozenset[str], path: str = "") -> Any:
    """The canonical JSON of a case cut down to the carried paths, structure and order kept (None: nothing)."""
    if isinstance(value, dict):
        out = {k: sub for k, v in value.items()
               if (sub := project(v, carries, f"{path}.{k}" if path else k)) is not None}
        return out or None
    if isinstance(value, list):
        subs = [project(v, carries, path + "[]") for v in value]
        return subs if any(s is not None for s in subs) else None
    return value if path in carries else None


def carried(case: Case, carries: frozenset[str]) -> Any:
    return project(dump_case(case), carries)


def readme_fields(readme: Path, heading: str) -> set[str]:
    """Back-quoted field names in one ``## heading`` section of an adapter README."""
    text = readme.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([a-z_\[\].]+)`", section))


def covered(path: str, names: set[str]) -> bool:
    """Whether a documented name covers a canonical path (``items[].hosting`` covers ``items[].hosting.ip``)."""
    return any(path == n or path.startswith((n + ".", n + "[]")) for n in names)
