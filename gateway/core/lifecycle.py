"""Retractions and corrections of a case, as pure changes to its canonical document.

A retraction marks items taken back with a ``retracted`` action (its reason is the reason code, then the
note), adds a custody entry, and makes the case ``retracted`` once none of its items stands. A
correction is a new version of the case: what changed is computed field by field, per item, so every
destination can be told which fields changed and from what to what. Nothing here does I/O; the
pipeline (``pipeline/lifecycle.py``) routes the result and the store applies it in one transaction.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hotline_gateway.core.model import (
    ActionType,
    Case,
    CaseStatus,
    CustodyEvent,
    Item,
    LifecycleKind,
    RetractReason,
)
from hotline_gateway.core.timefmt import format_timestamp

Doc = dict[str, Any]
#: the format name of a lifecycle notice travelling as it is (``$defs/Lifecycle``; not an adapter's format)
NOTICE_FORMAT = "lifecycle"
NOTICE_MEDIA_TYPE = "application/vnd.hotline-gateway.lifecycle+json"


#: the names this module's callers use
Reason = RetractReason
Kind = LifecycleKind


#: fields a correction may not change: they name the case and its history, not its content
FIXED = frozenset({"case_id", "originator", "received_at", "custody", "reporter"})
#: item fields a correction compares (actions are takedown history, changed through actions, not corrections)
ITEM_FIXED = frozenset({"item_id", "actions"})


def retracted_items(doc: Mapping[str, Any]) -> set[str]:
    """Item ids of ``doc`` its originator took back (every item, once the case is retracted)."""
    items = doc.get("items", [])
    if doc.get("status") == CaseStatus.RETRACTED.value:
        return {i["item_id"] for i in items}
    return {i["item_id"] for i in items if any(a["type"] == ActionType.RETRACTED.value for a in i.get("actions", []))}


def item_retracted(case: Case, item: Item) -> bool:
    """Whether the originator took ``item`` back (the typed twin of ``retracted_items``)."""
    return case.status is CaseStatus.RETRACTED or any(a.type is ActionType.RETRACTED for a in item.actions)


def action_reason(reason: str, note: str | None) -> str:
    return f"{reason}: {note}"[:1000] if note else reason


def retract_doc(doc: Mapping[str, Any], item_ids: Iterable[str], *, reason: str, note: str | None, at: datetime,
                by: str) -> Doc:
    """The document after its originator took back ``item_ids`` (a copy; ``doc`` is not changed)."""
    out: Doc = copy.deepcopy(dict(doc))
    wanted = set(item_ids)
    stamp = format_timestamp(at)
    for item in out["items"]:
        if item["item_id"] in wanted and not any(a["type"] == ActionType.RETRACTED.value
                                                 for a in item.get("actions", [])):
            item.setdefault("actions", []).append(
                {"type": ActionType.RETRACTED.value, "at": stamp, "by": by, "reason": action_reason(reason, note)})
    whole = all(any(a["type"] == ActionType.RETRACTED.value for a in i.get("actions", [])) for i in out["items"])
    if whole:
        out["status"] = CaseStatus.RETRACTED.value
    what = "case" if whole and wanted >= {i["item_id"] for i in out["items"]} else f"{len(wanted)} item(s)"
    out["custody"] = [*out.get("custody", []), {"at": stamp, "by": by, "event": CustodyEvent.RETRACTED.value,
                                                "note": action_reason(f"{what} retracted, {reason}", note)}][-1000:]
    return out


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Doc]:
    """What a correction changed: one entry per field, on the case or on an item (by id); an item added or
    removed is one entry with field ``item``."""
    changes: list[Doc] = []
    for field in sorted((set(old) | set(new)) - FIXED - {"items"}):
        if old.get(field) != new.get(field):
            changes.append(_change(None, field, old.get(field), new.get(field)))
    before = {i["item_id"]: i for i in old.get("items", [])}
    after = {i["item_id"]: i for i in new.get("items", [])}
    for item_id in sorted(set(before) | set(after)):
        a, b = before.get(item_id), after.get(item_id)
        if a is None or b is None:
            changes.append(_change(item_id, "item", a and a.get("url", item_id), b and b.get("url", item_id)))
            continue
        for field in sorted((set(a) | set(b)) - ITEM_FIXED):
            if a.get(field) != b.get(field):
                changes.append(_change(item_id, field, a.get(field), b.get(field)))
    return changes


def _change(item_id: str | None, field: str, old: Any, new: Any) -> Doc:
    change: Doc = {"field": field}
    if item_id is not None:
        change["item_id"] = item_id
    if old is not None:
        change["from"] = old
    if new is not None:
        change["to"] = new
    return change


def corrected_doc(old: Mapping[str, Any], new: Mapping[str, Any], *, reason: str, note: str | None, at: datetime,
                  by: str, changes: list[Doc]) -> Doc:
    """The stored document after a correction: the new version's content, with the history of the stored one
    (its custody log and each item's actions, which a correction does not rewrite) and an entry saying what
    changed."""
    out: Doc = copy.deepcopy(dict(new))
    out["custody"] = list(old.get("custody", []))
    out["reporter"] = copy.deepcopy(old["reporter"])
    actions = {i["item_id"]: i.get("actions", []) for i in old.get("items", [])}
    for item in out["items"]:
        history = actions.get(item["item_id"])
        if history:
            item["actions"] = copy.deepcopy(history)
        else:
            item.pop("actions", None)
    named = ", ".join(sorted({c["field"] for c in changes}))[:600]
    out["custody"] = [*out["custody"], {"at": format_timestamp(at), "by": by, "event": CustodyEvent.UPDATED.value,
                                        "note": action_reason(f"corrected ({named}), {reason}", note)}][-1000:]
    return out


def describe_changes(changes: Iterable[Mapping[str, Any]], limit: int = 20) -> list[str]:
    """Readable lines for people (an abuse desk's e-mail, the console): ``legal_class of item X: a -> b``."""
    lines = []
    for c in changes:
        where = f" of item {c['item_id']}" if "item_id" in c else ""
        lines.append(f"{c['field']}{where}: {_show(c.get('from'))} -> {_show(c.get('to'))}")
    return lines[:limit] + ([f"... and {len(lines) - limit} more"] if len(lines) > limit else [])


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
