"""The official schemas in ../shared/formats, loaded once and applied in process, the way judge.py applies
them: every schema file registered by its ``$id``, Draft 2020-12, formats checked (date-time strictly).

judge.py rebuilds its registry and validators for every file, and checks each object of a bundle
against every STIX type the bundle schema lists: minutes for 1,000 bundles. Here the schemas are
compiled once by jsonschema-rs (the Rust validator the gateway already uses); ``agrees_with_judge``
(a test) shows it gives judge.py's own verdicts (Python jsonschema, rfc3339-validator) on valid and
broken documents, and judge.py itself still judges a batch in every test that uses this module.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import rfc3339_validator  # type: ignore[import-untyped]  # noqa: F401  (enables date-time format checks in Python jsonschema, as judge.py does)
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from tests.adapters.judge import FORMATS

STIX = FORMATS / "stix-2.1" / "schemas"
XARF = FORMATS / "xarf-v4" / "schemas" / "v4"


def _schemas(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for f in folder.rglob("*.json"):
        contents = json.loads(f.read_text())
        if isinstance(contents, dict) and "$id" in contents:
            out.append((contents["$id"], contents))
    return out


@functools.cache
def _rs(folder: Path, names: tuple[str, ...]) -> dict[str, Any]:
    registry = jsonschema_rs.Registry(_schemas(folder))
    return {name: jsonschema_rs.validator_for(json.loads((folder / name).read_text()), registry=registry,
                                              validate_formats=True) for name in names}


@functools.cache
def _py(folder: Path, names: tuple[str, ...]) -> dict[str, Draft202012Validator]:
    registry: Registry[Any] = Registry().with_resources(
        [(i, Resource.from_contents(c)) for i, c in _schemas(folder)]).crawl()
    return {name: Draft202012Validator(json.loads((folder / name).read_text()), registry=registry,
                                       format_checker=FormatChecker()) for name in names}


def _stix_names() -> tuple[str, ...]:
    return tuple(sorted(str(f.relative_to(STIX)) for f in STIX.glob("*/*.json")))


def _messages(validator: Any, doc: Any, prefix: str = "") -> list[str]:
    return [f"{prefix}{e.message[:300]}" for e in validator.iter_errors(doc)]


def stix_errors(doc: dict[str, Any], *, engine: str = "rs") -> list[str]:
    """What the official STIX schemas say of a bundle, judge.py's way: the bundle schema, then each object's
    own type schema; empty when they accept it. ``engine="py"`` uses judge.py's own library."""
    names = _stix_names()
    validators = (_rs if engine == "rs" else _py)(STIX, names)
    by_type = {Path(n).stem: validators[n] for n in names}
    objects = doc.get("objects", []) if doc.get("type") == "bundle" else [doc]
    problems = _messages(by_type["bundle"], doc) if doc.get("type") == "bundle" else []
    for obj in objects:
        validator = by_type.get(str(obj.get("type")))
        if validator is None:
            problems.append(f"{obj.get('id')}: no official schema for type {obj.get('type')!r}")
            continue
        problems += _messages(validator, obj, f"{obj.get('id')}: ")
    return problems


def xarf_errors(doc: Any, *, engine: str = "rs") -> list[str]:
    validators = (_rs if engine == "rs" else _py)(XARF, ("xarf-v4-master.json",))
    return _messages(validators["xarf-v4-master.json"], doc)
