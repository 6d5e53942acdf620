"""Shared fixtures: one small, hand-written valid case document that tests copy and then break."""

from __future__ import annotations

from typing import Any

import pytest

pytest_plugins = ["tests.federation_fixtures", "tests.support.postgres"]


@pytest.fixture
def case_doc() -> dict[str, Any]:
    """A fresh valid canonical case with three items (so ``items[2]`` exists), safe to mutate."""
    item = {"url": "https://files.example.org/i/abc123.jpg", "legal_class": "baseline"}
    return {
        "case_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
        "received_at": "2025-03-01T10:15:00Z",
        "source_channel": "web_form",
        "reporter": {"kind": "anonymous"},
        "originator": "FR-PDC",
        "category": "csam",
        "tlp": "amber",
        "priority": "high",
        "status": "assessed",
        "items": [
            {
                **item,
                "item_id": "6f1c1d0e-6d7e-4c8b-9a51-0a6f2b7d9c01",
                "media_type": "image",
                "hashes": [{"algo": "md5", "value": "9e107d9d372bb6826bd81d3542a419d6"}],
            },
            {**item, "item_id": "6f1c1d0e-6d7e-4c8b-9a51-0a6f2b7d9c02"},
            {**item, "item_id": "6f1c1d0e-6d7e-4c8b-9a51-0a6f2b7d9c03", "legal_class": "national"},
        ],
    }
