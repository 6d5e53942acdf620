"""A federation whose FR-PDC gateway serves a TAXII collection to the platform MISP-EU (allowed to write)
and to READER (read only)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w

from hotline_gateway.service import RunningGateway

PASSWORD = "taxii-test-secret"


@pytest.fixture
def fr_config(fed_paths: dict[str, Path]) -> Path:
    path = fed_paths["FR-PDC"]
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    doc["partners"] += [
        {"id": "MISP-EU", "kind": "network", "transport": "taxii", "format": "stix", "tlp_max": "amber",
         "options": {"taxii_password": PASSWORD, "taxii_write": True}},
        {"id": "READER", "kind": "network", "transport": "taxii", "format": "stix", "tlp_max": "amber",
         "options": {"taxii_password": PASSWORD}},
    ]
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
async def fr(fr_config: Path, federation: dict[str, RunningGateway]) -> RunningGateway:
    return federation["FR-PDC"]
