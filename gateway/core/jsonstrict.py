"""JSON from outside, read strictly: a key that appears twice in one object is refused.

RFC 8259 leaves duplicate names undefined and parsers disagree (most keep the last), so a document
with ``"tlp": "red", "tlp": "clear"`` means one thing to its signer's tools and another to ours. Every
JSON document that crosses our boundary is read here; ``orjson`` stays for what we write ourselves.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from hotline_gateway.core.errors import FieldProblem, ValidationError


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes | str) -> Any:
    """Parse JSON; ``ValueError`` (a ``DuplicateKey`` for a repeated name) for anything that is not
    strict RFC 8259 JSON (NaN and Infinity included).

    Fast path: when ``orjson`` writes back exactly the bytes it read, the document is compact and no
    object can have had a repeated name (a repeat would have been collapsed, so the bytes would differ);
    that is what gateways and most tools send. Anything else is read again by the strict parser."""
    if isinstance(data, bytes):
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            try:
                if orjson.dumps(obj) == data:
                    return obj
            except TypeError:
                pass  # deeper than orjson writes (it reads deeper): the strict parser decides
        if b"\x00" in data:  # JSON never holds a raw NUL; UTF-16 and UTF-32 text is full of them
            raise ValueError("not UTF-8 (NUL bytes: UTF-16 or UTF-32?); JSON between systems must be UTF-8")
        try:
            # RFC 8259 §8.1: JSON between systems is UTF-8; json.loads would also guess UTF-16 and UTF-32
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 (byte {exc.start}); JSON between systems must be UTF-8") from None
    return json.loads(data, object_pairs_hook=_unique, parse_constant=_no_constants)


def loads_document(data: bytes | str, *, where: str = "$") -> Any:
    """Parse a request body or payload; ``ValidationError`` naming what is wrong."""
    try:
        return loads(data)
    except DuplicateKey as exc:
        raise ValidationError([FieldProblem(where, f"key {exc.key!r} appears twice in one object")]) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValidationError([FieldProblem(where, f"not JSON ({exc})")]) from None
