"""TAXII 2.1 collections as the store keeps them: object versions with integer-microsecond times, and
the filters a read applies (see ``store/sqlite/taxii.py`` for the indexing).

Each partner's STIX outbox is indexed object by object, with ``added_us``, the microsecond it entered the
collection, and ``version_us``, its version (``modified``, else ``created``, else the time it was
added) — integers, stored and compared as the same representation, so ``added_after=T`` is strictly
after T and a client polling from the last ``X-TAXII-Date-Added-Last`` never gets that object again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson


def to_us(text: str) -> int:
    """An RFC 3339 timestamp as integer microseconds since the epoch (digits past the sixth are dropped: a time
    between two microseconds is after the earlier one); ValueError when it is not one."""
    stamp = text.strip()
    if not stamp.endswith(("Z", "z")) or "T" not in stamp.upper():
        raise ValueError(text)
    head, _, fraction = stamp[:-1].partition(".")
    if fraction and not fraction.isdigit():
        raise ValueError(text)
    moment = datetime.fromisoformat(head.upper() + "+00:00")
    return int(moment.timestamp()) * 1_000_000 + int((fraction + "000000")[:6] or 0)


def from_us(value: int) -> str:
    """Integer microseconds as the TAXII timestamp (six fractional digits, Z)."""
    seconds, micros = divmod(value, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


@dataclass(frozen=True, slots=True)
class Entry:
    """One object version in a collection."""

    seq: int
    object_id: str
    type: str
    spec_version: str
    version: str
    version_us: int
    added_us: int
    message_id: str
    object: dict[str, Any]

    @property
    def date_added(self) -> str:
        return from_us(self.added_us)


@dataclass(frozen=True, slots=True)
class Filter:
    """TAXII's filters (§3.4): added_after, match[id], match[type], match[version], match[spec_version]."""

    after: tuple[int, int] = (-1, -1)  # (added_us, seq) to start after
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    #: "last" (default), "first", "all", or version timestamps as microseconds
    versions: tuple[str | int, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()


COLUMNS = "t.seq, t.object_id, t.type, t.spec_version, t.version, t.version_us, t.added_us, t.message_id, t.object"


def entry(row: sqlite3.Row | tuple[Any, ...]) -> Entry:
    return Entry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], orjson.loads(row[8]))


def object_version(obj: dict[str, Any], added_us: int) -> tuple[str, int]:
    for key in ("modified", "created"):
        value = obj.get(key)
        if isinstance(value, str):
            try:
                return value, to_us(value)
            except ValueError:
                continue
    return from_us(added_us), added_us
