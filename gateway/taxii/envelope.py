"""Paging a partner's STIX outbox as TAXII objects: one delivery row is one STIX bundle of a case.

The cursor is the last (date added, message id, object index) served, opaque to the client. Objects
a bundle shares with others (our identity, the TLP marking) are sent once per page; a client stores
them by id and version, so a repeat on a later page is harmless. Each case's report is served once.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hotline_gateway.core.errors import BadInput
from hotline_gateway.store.records import Delivery


def taxii_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_taxii_time(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadInput(f"added_after {text!r} is not a timestamp", code="bad_filter") from None


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: float
    message_id: str
    index: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(orjson.dumps([self.created_at, self.message_id, self.index])).decode()

    @staticmethod
    def decode(token: str) -> Cursor:
        try:
            created, message_id, index = orjson.loads(base64.urlsafe_b64decode(token.encode()))
            return Cursor(float(created), str(message_id), int(index))
        except (ValueError, TypeError, orjson.JSONDecodeError):
            raise BadInput("next is not a token this server gave out", code="bad_next") from None


@dataclass(slots=True)
class Page:
    objects: list[tuple[dict[str, Any], float]]
    more: bool
    next: Cursor | None
    served: list[Delivery]


def page(rows: list[Delivery], start: Cursor | None, limit: int, has_more_rows: bool) -> Page:
    """Up to ``limit`` objects from ``rows`` (already after the cursor's row), resuming inside a bundle."""
    out: list[tuple[dict[str, Any], float]] = []
    served: list[Delivery] = []
    seen: set[tuple[str, str]] = set()
    for d in rows:
        objects = orjson.loads(d.payload).get("objects", [])
        first = start.index + 1 if start and (d.created_at, d.message_id) == (start.created_at, start.message_id) else 0
        for index in range(first, len(objects)):
            obj = objects[index]
            key = (obj.get("id", ""), obj.get("modified", obj.get("created", "")))
            if key in seen:
                continue
            if len(out) == limit:
                return Page(out, True, Cursor(d.created_at, d.message_id, index - 1), served)
            seen.add(key)
            out.append((obj, d.created_at))
        served.append(d)
    last = rows[-1] if rows else None
    more = has_more_rows and last is not None
    return Page(out, more, Cursor(last.created_at, last.message_id, 1 << 30) if more and last else None, served)
