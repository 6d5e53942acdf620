"""Three gateways on loopback (FR-PDC, DE-HOTLINE, FR-POLICE) with their own keys, stores and configs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline_gateway import config as config_mod
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import write_federation


@pytest.fixture
def fed_paths(tmp_path: Path) -> dict[str, Path]:
    return write_federation(tmp_path)


@pytest.fixture
async def federation(fed_paths: dict[str, Path]) -> AsyncIterator[dict[str, RunningGateway]]:
    gateways = {gid: RunningGateway(config_mod.load(p)) for gid, p in fed_paths.items()}
    for gw in gateways.values():
        await gw.start()
    yield gateways
    for gw in gateways.values():
        await gw.stop()
