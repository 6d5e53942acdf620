"""TAXII 2.1 request parameters (§3.4, §3.5): filters, ``limit`` and the opaque ``next`` token, read strictly.

A bad parameter is a 400 (``BadInput``), never silently ignored: a client that filters wrongly must learn
it, not get everything.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import orjson

from hotline_gateway.core.errors import BadInput
from hotline_gateway.store.taxii_records import Filter, to_us

MAX_PAGE = 1000
#: "added_after" starts strictly after this (added_us, seq): nothing added in that microsecond
_AFTER_ALL = 1 << 62


def _list(query: Mapping[str, str], key: str) -> tuple[str, ...]:
    if key not in query:
        return ()
    values = tuple(v.strip() for v in query[key].split(","))
    if not all(values):
        raise BadInput(f"{key} is a comma-separated list of values", code="bad_filter")
    return values


def limit(query: Mapping[str, str]) -> int:
    """A positive integer (values above the server's page size are lowered to it); anything else is a 400."""
    text = query.get("limit")
    if text is None:
        return MAX_PAGE
    if not text.isdigit() or int(text) < 1:
        raise BadInput("limit must be a positive integer", code="bad_limit")
    return min(int(text), MAX_PAGE)


def encode_next(added_us: int, seq: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([added_us, seq])).decode().rstrip("=")


def _decode_next(token: str) -> tuple[int, int]:
    try:
        added_us, seq = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(added_us, int) or not isinstance(seq, int):
            raise ValueError(token)
        return added_us, seq
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadInput("next is not a token this server gave out", code="bad_next") from None


def parse(query: Mapping[str, str], *, object_id: str | None = None, default_version: str = "last") -> Filter:
    after = (-1, -1)
    if "next" in query:
        after = _decode_next(query["next"])
    elif "added_after" in query:
        try:
            after = (to_us(query["added_after"]), _AFTER_ALL)
        except ValueError:
            raise BadInput(f"added_after {query['added_after']!r} is not a TAXII timestamp",
                           code="bad_filter") from None
    versions: list[str | int] = []
    for v in _list(query, "match[version]") or (default_version,):
        if v in ("first", "last", "all"):
            versions.append(v)
            continue
        try:
            versions.append(to_us(v))
        except ValueError:
            raise BadInput(f"match[version] {v!r} is not first, last, all or a timestamp", code="bad_filter") from None
    ids = _list(query, "match[id]")
    if object_id is not None:
        ids = (object_id,)
    return Filter(after=after, ids=ids, types=_list(query, "match[type]"), versions=tuple(versions),
                  spec_versions=_list(query, "match[spec_version]"))
