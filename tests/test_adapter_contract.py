"""The contract every registered format adapter keeps, run over all of them by name from the registry.

- everything it encodes passes its own wire schema (JSON Schema or XSD);
- decode(encode(case)) gives back every field the adapter says it carries, value for value;
- malformed input (random bytes, truncated documents) raises only the adapter's DecodeError.
An adapter that cannot carry a case must say so with EncodeError, never with anything else.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from lxml import etree

from hotline_gateway.adapters import registry
from hotline_gateway.adapters.registry import Adapter
from hotline_gateway.core.errors import DecodeError, EncodeError
from hotline_gateway.core.model import Case, dump_case
from hotline_gateway.sim.samples import generate_cases
from tests.strategies import cases

ADAPTERS = registry.names()
SAMPLES = list(generate_cases(200, seed=2024))


@functools.cache
def schema_check(name: str) -> Any:
    adapter = registry.get(name)
    path = adapter.schema_path
    if path is None:
        return None
    if path.suffix == ".xsd":
        schema = etree.XMLSchema(etree.parse(str(path)))

        def check_xml(data: bytes) -> list[str]:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            doc = etree.fromstring(data, parser)
            return [] if schema.validate(doc) else [str(schema.error_log)[:2000]]

        return check_xml
    doc = orjson.loads(path.read_bytes())
    validator = Draft202012Validator(doc, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def check_json(data: bytes) -> list[str]:
        docs = [orjson.loads(line) for line in data.splitlines() if line.strip()] if b"\n{" in data.strip() else \
            [orjson.loads(data)]
        return [f"{list(e.absolute_path)}: {e.message}" for d in docs for e in validator.iter_errors(d)][:5]

    return check_json


def carried_values(case: Case, carries: frozenset[str]) -> dict[str, list[str]]:
    """Every carried leaf path with its values (sorted), so formats that reorder lists still compare."""
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


def encode_or_skip(adapter: Adapter, case: Case) -> bytes | None:
    try:
        return adapter.encode(case)
    except EncodeError:
        return None


@pytest.mark.parametrize("name", ADAPTERS)
def test_everything_encoded_passes_the_adapters_own_schema(name: str) -> None:
    adapter = registry.get(name)
    check = schema_check(name)
    encoded = [data for case in SAMPLES if (data := encode_or_skip(adapter, case)) is not None]
    assert encoded, f"{name} refused every sample case"
    if check is None:
        pytest.skip(f"{name} has no wire schema of its own")
    failures = [(i, errs) for i, data in enumerate(encoded) if (errs := check(data))]
    assert not failures, failures[:3]


@pytest.mark.parametrize("name", ADAPTERS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_round_trip_keeps_every_carried_field(name: str, case: Case) -> None:
    adapter = registry.get(name)
    data = encode_or_skip(adapter, case)
    if data is None:
        return
    decoded = adapter.decode(data)
    assert len(decoded) >= 1
    merged = carried_values(decoded[0], adapter.carries)
    for extra in decoded[1:]:
        for k, v in carried_values(extra, adapter.carries).items():
            merged[k] = sorted(set(merged.get(k, [])) | set(v))
    expected = carried_values(case, adapter.carries)
    merged = {k: sorted(set(v)) for k, v in merged.items()}
    expected = {k: sorted(set(v)) for k, v in expected.items()}
    assert merged == expected


@pytest.mark.parametrize("name", ADAPTERS)
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048))
def test_random_bytes_raise_only_decode_error(name: str, data: bytes) -> None:
    adapter = registry.get(name)
    with contextlib.suppress(DecodeError):
        adapter.decode(data)


@pytest.mark.parametrize("name", ADAPTERS)
@settings(max_examples=300, deadline=None)
@given(index=st.integers(min_value=0, max_value=len(SAMPLES) - 1), cut=st.floats(min_value=0, max_value=0.999))
def test_truncated_documents_raise_only_decode_error(name: str, index: int, cut: float) -> None:
    adapter = registry.get(name)
    data = encode_or_skip(adapter, SAMPLES[index])
    if data is None:
        return
    with contextlib.suppress(DecodeError):
        adapter.decode(data[: int(len(data) * cut)])
