"""OASIS's stix2-validator, run at a speed a test suite can afford, with its judgement unchanged.

The validator builds a fresh ``referencing`` registry for every object it checks, and resolves each
``$ref`` by reading and crawling schema files again: about 15 ms an object, minutes for 1,000 bundles.
``fast()`` swaps only that plumbing: the registry is built once from the very same schema files,
patched by the validator's own ``patch_schema``, and the validator class, format checker, schemas
and Python checks ("musts", "shoulds") stay the library's own.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from stix2validator import ValidationOptions, validate_instance
from stix2validator import validator as stix_validator


@functools.cache
def _registry(schema_dir: str) -> Registry[Any]:
    resources = []
    for file in Path(schema_dir).rglob("*.json"):
        if "examples" in file.parts:
            continue
        schema = stix_validator.patch_schema(json.loads(file.read_text()), str(file.resolve()))
        resources.append((file.resolve().as_uri(), DRAFT202012.create_resource(schema)))
    return Registry().with_resources(resources).crawl()


def _load_validator(schema_path: str, schema: dict[str, Any], schema_dir: str | None) -> Any:
    schema = stix_validator.patch_schema(schema, schema_path)
    folder = str(Path(schema_path).resolve().parent.parent)
    registry = _registry(folder).with_resource(schema_path, DRAFT202012.create_resource(schema))
    return stix_validator.STIXValidator(schema, registry=registry,
                                        format_checker=stix_validator.Draft202012Validator.FORMAT_CHECKER)


@contextmanager
def fast(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(stix_validator, "load_validator", _load_validator)
    yield


def errors(bundle: dict[str, Any]) -> list[str]:
    """The validator's errors for one bundle (warnings, such as its advice to use UUIDv4, are not errors)."""
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    return [str(e) for e in result.errors] if not result.is_valid or result.errors else []


def _chunk(bundles: list[tuple[int, bytes]]) -> list[str]:
    stix_validator.load_validator = _load_validator  # this worker process only
    return [f"bundle {n}: {e}" for n, b in bundles for e in errors(json.loads(b))]


def errors_many(bundles: Iterable[bytes], workers: int = 2) -> list[str]:
    """The validator's errors for every bundle, in ``workers`` processes with the registry built once each."""
    numbered = list(enumerate(bundles))
    with ProcessPoolExecutor(workers) as pool:
        return [e for result in pool.map(_chunk, [numbered[i::workers] for i in range(workers)]) for e in result]
