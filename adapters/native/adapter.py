"""Canonical case JSON on the wire: a single case, a JSON array of cases, or JSON Lines.

The native format carries every canonical field, so nothing is dropped. Decoding checks each case
against ``schemas/case.schema.json`` and names the line (JSON Lines) and the field path of every
problem. Encoding writes compact JSON with sorted keys so that equal cases give equal bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import orjson

from hotline_gateway.core import jsonstrict
from hotline_gateway.core.errors import DecodeError, ValidationError
from hotline_gateway.core.model import Case, load_case
from hotline_gateway.core.schema import validate_case_document
from hotline_gateway.schemas import path as schema_path

MAX_DOCUMENT = 64 * 1024 * 1024
_ENCODER = msgspec.json.Encoder(order="sorted")


def _fields(prefix: str, schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> set[str]:
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "array" and "items" in schema:
        return _fields(prefix + "[]", schema["items"], defs, depth)
    props = schema.get("properties")
    if not props or depth > 4:
        return {prefix} if prefix else set()
    out: set[str] = set()
    for name, sub in props.items():
        out |= _fields(f"{prefix}.{name}" if prefix else name, sub, defs, depth + 1)
    return out


class NativeAdapter:
    name = "native"
    media_type = "application/vnd.hotline-gateway.case+json"
    schema_path: Path | None = schema_path("case.schema.json")

    def __init__(self) -> None:
        schema = orjson.loads(schema_path("case.schema.json").read_bytes())
        self.carries = frozenset(_fields("", schema["$defs"]["Case"], schema["$defs"]))

    def decode(self, data: bytes) -> list[Case]:
        return [case for case, _ in self.decode_documents(data)]

    def decode_documents(self, data: bytes) -> list[tuple[Case, dict[str, Any]]]:
        """Cases with the canonical documents they were read from, already checked against the schema
        (a schema-valid document is canonical: ``dump(load(doc)) == doc``), so the pipeline need not
        serialise and validate them a second time."""
        if len(data) > MAX_DOCUMENT:
            raise DecodeError(f"document larger than {MAX_DOCUMENT} bytes", fmt=self.name)
        try:
            doc = jsonstrict.loads(data)
        except jsonstrict.DuplicateKey as exc:
            raise DecodeError(f"key {exc.key!r} appears twice in one object", fmt=self.name) from None
        except (ValueError, RecursionError):
            return self._decode_lines(data)
        docs = doc if isinstance(doc, list) else [doc]
        if not docs:
            raise DecodeError("no cases in the document", fmt=self.name)
        multi = isinstance(doc, list)
        return [self._case(d, f"$[{i}]" if multi else "$") for i, d in enumerate(docs)]

    def _decode_lines(self, data: bytes) -> list[tuple[Case, dict[str, Any]]]:
        cases = []
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                doc = jsonstrict.loads(line)
            except jsonstrict.DuplicateKey as exc:
                raise DecodeError(f"key {exc.key!r} appears twice in one object", path=f"line {number}",
                                  fmt=self.name) from None
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                raise DecodeError(f"not JSON ({exc})", path=f"line {number}", fmt=self.name) from None
            cases.append(self._case(doc, f"line {number}"))
        if not cases:
            raise DecodeError("no cases in the document", fmt=self.name)
        return cases

    def _case(self, doc: Any, where: str) -> tuple[Case, dict[str, Any]]:
        if not isinstance(doc, dict):
            raise DecodeError("a case must be a JSON object", path=where, fmt=self.name)
        try:
            validate_case_document(doc)
        except ValidationError as exc:
            detail = "; ".join(str(p) for p in exc.problems)
            raise DecodeError(detail, path=where, fmt=self.name) from exc
        return load_case(doc), doc

    def encode(self, case: Case) -> bytes:
        # msgspec writes the same bytes as orjson over dump_case with sorted keys, without the dict between
        return _ENCODER.encode(case)
