"""Whatever bytes arrive, the JSON adapters either return valid canonical cases or raise DecodeError,
never another exception: random bytes, JSON-looking noise, truncated documents, and valid documents
with one value swapped for arbitrary JSON (which reaches the code behind the schema check)."""

from __future__ import annotations

import functools
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline_gateway.adapters.dsa import DsaNoticeAdapter
from hotline_gateway.adapters.iccam import IccamAdapter
from hotline_gateway.adapters.registry import Adapter
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.schema import validate_case
from hotline_gateway.sim.samples import generate_cases

ADAPTERS: dict[str, Adapter] = {"iccam": IccamAdapter(), "dsa-notice": DsaNoticeAdapter()}
NAMES = sorted(ADAPTERS)


def fast(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def documents(name: str) -> tuple[bytes, ...]:
    """Encodings of a spread of generated cases, the raw material for truncation and mutation."""
    return tuple(ADAPTERS[name].encode(case) for case in generate_cases(40, seed=601))


def decode_safely(name: str, data: bytes) -> None:
    """Decode must end in valid cases or in DecodeError that names where (a JSON path) and which format."""
    try:
        decoded = ADAPTERS[name].decode(data)
    except DecodeError as exc:
        assert exc.path.startswith("$") and exc.fmt == name
        return
    assert decoded
    for case in decoded:
        validate_case(case)


json_noise = st.text(st.sampled_from(list('{}[]":,.-+eE0123456789 truefalsn\\u')), max_size=200).map(str.encode)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize("name", NAMES)
@fast(500)
@given(data=st.binary(max_size=1024) | json_noise)
def test_random_bytes_raise_only_decode_error(name: str, data: bytes) -> None:
    decode_safely(name, data)


@pytest.mark.parametrize("name", NAMES)
@fast(300)
@given(data=st.data())
def test_truncated_documents_raise_only_decode_error(name: str, data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(documents(name)))
    cut = data.draw(st.integers(0, len(doc) - 1))
    with pytest.raises(DecodeError):
        ADAPTERS[name].decode(doc[:cut])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document: object members and array elements, nested."""
    out = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            out += _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            out += _paths(sub, (*prefix, index))
    return out


@pytest.mark.parametrize("name", NAMES)
@fast(400)
@given(data=st.data())
def test_a_valid_document_with_one_value_replaced_or_removed_gives_valid_cases_or_decode_error(
    name: str, data: st.DataObject
) -> None:
    doc = orjson.loads(data.draw(st.sampled_from(documents(name))))
    path = data.draw(st.sampled_from(_paths(doc)))
    replacement = data.draw(st.just(...) | json_values)
    if not path:
        doc = None if replacement is ... else replacement
    else:
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if replacement is ...:
            del parent[path[-1]]
        else:
            parent[path[-1]] = replacement
    decode_safely(name, orjson.dumps(doc))
