"""The takedown lifecycle on canonical case JSON: merging actions, matching items, time to removal."""

from __future__ import annotations

from typing import Any

import pytest

from hotline_gateway.core.model import dump_case
from hotline_gateway.core.takedown import item_takedown, match_items, merge_actions, removed_items
from hotline_gateway.sim.samples import generate_cases


@pytest.fixture
def doc() -> dict[str, Any]:
    d = dump_case(next(iter(generate_cases(1, seed=5))))
    for item in d["items"]:
        item.pop("actions", None)
    return d


def test_merge_adds_new_actions_in_time_order_and_reports_them(doc: dict[str, Any]) -> None:
    item_id = doc["items"][0]["item_id"]
    added = merge_actions(doc, [(item_id, {"type": "content_removed", "at": "2026-11-03T10:00:00Z"}),
                                (item_id, {"type": "sent_to_isp", "at": "2026-11-01T10:00:00Z", "by": "FR-PDC"})])
    assert [a["type"] for _, a in added] == ["content_removed", "sent_to_isp"]
    assert [a["type"] for a in doc["items"][0]["actions"]] == ["sent_to_isp", "content_removed"]


def test_merging_the_same_history_again_changes_nothing(doc: dict[str, Any]) -> None:
    item_id = doc["items"][0]["item_id"]
    update = [(item_id, {"type": "content_removed", "at": "2026-11-03T10:00:00Z"})]
    merge_actions(doc, update)
    assert merge_actions(doc, [(item_id, {"type": "content_removed", "at": "2026-11-03T10:00:00.000000Z"})]) == []
    assert len(doc["items"][0]["actions"]) == 1


def test_actions_for_unknown_items_are_ignored(doc: dict[str, Any]) -> None:
    assert merge_actions(doc, [("00000000-0000-0000-0000-000000000000",
                                {"type": "content_removed", "at": "2026-11-03T10:00:00Z"})]) == []


def test_removed_and_unavailable_items_count_as_gone_moved_does_not(doc: dict[str, Any]) -> None:
    ids = [i["item_id"] for i in doc["items"]]
    doc["items"].extend(dict(doc["items"][0], item_id=f"{n:08d}-0000-4000-8000-000000000000") for n in range(3))
    a, b, c = (i["item_id"] for i in doc["items"][-3:])
    merge_actions(doc, [(a, {"type": "content_removed", "at": "2026-11-03T10:00:00Z"}),
                        (b, {"type": "content_unavailable", "at": "2026-11-03T10:00:00Z"}),
                        (c, {"type": "moved", "at": "2026-11-03T10:00:00Z"})])
    assert removed_items(doc) == {a, b}
    assert not removed_items(doc) & set(ids)


def test_partner_items_match_by_id_or_else_by_url(doc: dict[str, Any]) -> None:
    stored_item = doc["items"][0]
    incoming = {"items": [{"item_id": "11111111-1111-4111-8111-111111111111", "url": stored_item["url"]},
                          {"item_id": stored_item["item_id"], "url": "https://other.example.org/x"},
                          {"item_id": "22222222-2222-4222-8222-222222222222", "url": "https://nowhere.test/"}]}
    assert match_items(doc, incoming) == {"11111111-1111-4111-8111-111111111111": stored_item["item_id"],
                                          stored_item["item_id"]: stored_item["item_id"]}


def test_time_to_removal_counts_from_the_first_notice(doc: dict[str, Any]) -> None:
    item = doc["items"][0]
    merge_actions(doc, [(item["item_id"], {"type": "sent_to_isp", "at": "2026-11-01T10:00:00Z"}),
                        (item["item_id"], {"type": "sent_to_isp", "at": "2026-11-02T10:00:00Z"}),
                        (item["item_id"], {"type": "content_removed", "at": "2026-11-01T16:00:00Z"})])
    summary = item_takedown(item, doc["received_at"])
    assert summary["time_to_removal_s"] == 6 * 3600
    assert (summary["notified_at"], summary["removal"]) == ("2026-11-01T10:00:00Z", "content_removed")


def test_time_to_removal_without_a_notice_counts_from_receipt_and_is_none_while_online(doc: dict[str, Any]) -> None:
    item = doc["items"][0]
    assert item_takedown(item, "2026-11-01T00:00:00Z")["time_to_removal_s"] is None
    merge_actions(doc, [(item["item_id"], {"type": "content_unavailable", "at": "2026-11-02T00:00:00Z"})])
    assert item_takedown(item, "2026-11-01T00:00:00Z")["time_to_removal_s"] == 86400
