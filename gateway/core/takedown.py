"""The takedown lifecycle of each item: notified, then removed (or unavailable, or moved).

Works on canonical case JSON, as stored, so that an update is a small change to the stored document
and never a reinterpretation of it. Pure functions: the store applies them inside one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hotline_gateway.core.model import ActionType
from hotline_gateway.core.timefmt import parse_timestamp

#: an item with one of these actions is gone from where it was reported: no further notice for it
REMOVED = frozenset({ActionType.CONTENT_REMOVED.value, ActionType.CONTENT_UNAVAILABLE.value})
#: what delivering to a partner of each kind means for its items
NOTICE_ACTION = {"host": ActionType.SENT_TO_ISP, "platform": ActionType.SENT_TO_ISP,
                 "law_enforcement": ActionType.SENT_TO_LEA}

Doc = dict[str, Any]


def removed_items(doc: Mapping[str, Any]) -> set[str]:
    """Item ids whose content was reported removed or unavailable."""
    return {item["item_id"] for item in doc.get("items", [])
            if any(a["type"] in REMOVED for a in item.get("actions", []))}


def merge_actions(doc: Doc, updates: Iterable[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, Doc]]:
    """Add actions to the items of ``doc`` (in place), skipping ones already recorded; returns those added.

    An action is the same as a recorded one when type and time agree, so a partner's resend or an
    update that repeats the history changes nothing.
    """
    items = {item["item_id"]: item for item in doc.get("items", [])}
    added: list[tuple[str, Doc]] = []
    for item_id, action in updates:
        item = items.get(item_id)
        if item is None:
            continue
        actions: list[Doc] = item.setdefault("actions", [])
        key = (action["type"], parse_timestamp(action["at"]))
        if any((a["type"], parse_timestamp(a["at"])) == key for a in actions):
            continue
        actions.append(dict(action))
        actions.sort(key=lambda a: parse_timestamp(a["at"]))
        added.append((item_id, dict(action)))
    return added


def match_items(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, str]:
    """Incoming item id → stored item id: by id, or by URL when the partner's format kept no item ids."""
    by_id = {i["item_id"] for i in stored.get("items", [])}
    by_url = {i["url"]: i["item_id"] for i in stored.get("items", []) if "url" in i}
    out: dict[str, str] = {}
    for item in incoming.get("items", []):
        if item["item_id"] in by_id:
            out[item["item_id"]] = item["item_id"]
        elif item.get("url") in by_url:
            out[item["item_id"]] = by_url[item["url"]]
    return out


def item_takedown(item: Mapping[str, Any], received_at: str) -> dict[str, Any]:
    """When the item was first notified and first reported gone, and the time between (seconds).

    Time to removal counts from the first notice to a host or police; with none recorded, from the
    case's receipt (the hotline's own clock starts when the report arrives).
    """
    actions = sorted(item.get("actions", []), key=lambda a: parse_timestamp(a["at"]))
    notified = next((a["at"] for a in actions if a["type"] in (ActionType.SENT_TO_ISP, ActionType.SENT_TO_LEA)), None)
    removed = next((a for a in actions if a["type"] in REMOVED), None)
    out: dict[str, Any] = {"item_id": item["item_id"], "notified_at": notified,
                           "removed_at": removed["at"] if removed else None,
                           "removal": removed["type"] if removed else None, "time_to_removal_s": None}
    if removed is not None:
        start: datetime = parse_timestamp(notified or received_at)
        out["time_to_removal_s"] = max(0.0, (parse_timestamp(removed["at"]) - start).total_seconds())
    return out


def case_takedown(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [item_takedown(item, doc["received_at"]) for item in doc.get("items", [])]
