"""The OpenAPI document tells the truth: schemathesis, driven by it, finds no 5xx and no undocumented
status or problem shape on the running gateway."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from gateway import config as config_mod
from gateway.api.openapi import document
from gateway.demo import TOKEN, write_federation
from gateway.service import RunningGateway

schema = schemathesis.openapi.from_dict(document())


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """FR-PDC served from its own event loop in a thread, as a deployed gateway would be."""
    paths = write_federation(Path(tmp_path_factory.mktemp("openapi")))
    loop = asyncio.new_event_loop()
    gw = RunningGateway(config_mod.load(paths["FR-PDC"]))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(gw.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield gw.url
    asyncio.run_coroutine_threadsafe(gw.stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def test_the_document_is_served_and_is_openapi_3_1(live_url: str) -> None:
    doc = requests.get(f"{live_url}/openapi.json", timeout=10).json()
    assert doc["openapi"] == "3.1.0" and "/v1/messages" in doc["paths"]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_document(case: Any, live_url: str) -> None:
    case.call_and_validate(base_url=live_url, headers={"Authorization": f"Bearer {TOKEN}"})
