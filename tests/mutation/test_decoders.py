"""Every decoder maps any malformed input to a clear refusal: structural mutation of real documents (the
OASIS STIX examples, the X-ARF samples, the RFC 7970 examples, the DSA and ICCAM documents we and
others write, native cases) gives either valid cases or a DecodeError naming a place -- never a
TypeError, RecursionError, KeyError or any other exception (which would be a 500 on the wire)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hotline_gateway.adapters import registry
from hotline_gateway.core.errors import BadInput, DecodeError
from hotline_gateway.core.model import Category
from hotline_gateway.core.schema import validate_case
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.judge import FORMATS
from tests.mutation.mutator import json_mutations, xml_mutations


def ours(fmt: str, count: int, seed: int) -> list[bytes]:
    """Documents our own encoder writes for a few generated cases (several items, every hash kind)."""
    out = []
    for case in generate_cases(40, seed=seed):
        if fmt in ("xarf", "cybertip") and case.category not in (Category.CSAM, Category.CSEM):
            continue
        case.items = case.items[:3]
        out += registry.documents(registry.get(fmt), case)
        if len(out) >= count:
            break
    return out[:count]


def corpus(fmt: str) -> Iterator[tuple[str, bytes]]:
    """The real documents each format's mutations start from: others' first, then ours."""
    others = {
        "stix": sorted((FORMATS / "stix-2.1" / "examples").glob("*.json")),
        "xarf": sorted((FORMATS / "xarf-v4" / "samples").glob("*.json")),
        "iodef": sorted((FORMATS / "iodef-2.0" / "examples").glob("*.xml")),
    }.get(fmt, [])
    for path in others:
        yield path.name, path.read_bytes()
    for n, data in enumerate(ours(fmt, 2, seed=71)):
        yield f"ours-{n}", data


@pytest.mark.parametrize("fmt", registry.names())
def test_every_structural_mutation_is_valid_cases_or_a_decode_error(fmt: str, capsys: pytest.CaptureFixture[str]
                                                                   ) -> None:
    adapter = registry.get(fmt)
    mutate = xml_mutations if "xml" in adapter.media_type else json_mutations
    counts = {"cases": 0, "refused": 0}
    started = time.perf_counter()
    for name, document in corpus(fmt):
        for label, data in mutate(document):
            try:
                cases = adapter.decode(data)
            except DecodeError as exc:
                assert exc.path, f"{name} {label}: no place named"
                counts["refused"] += 1
                continue
            except BadInput as exc:  # media refused, etc.: still a 422 with a stable code
                assert exc.http_status == 422, f"{name} {label}: {exc!r}"
                counts["refused"] += 1
                continue
            for case in cases:
                validate_case(case)
            counts["cases"] += 1
    with capsys.disabled():
        print(f"\n{fmt}: {sum(counts.values())} mutations, {counts['refused']} refused with a decode error, "
              f"{counts['cases']} still valid cases, {time.perf_counter() - started:.1f} s")
    assert counts["refused"] > 0
