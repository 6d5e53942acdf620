"""TAXII 2.1 in the gateway, read and written by the OASIS taxii2-client against the running service."""

from __future__ import annotations

import asyncio
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import tomli_w
from taxii2client.v21 import Server, as_pages

from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.model import Tlp
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from hotline_gateway.store.records import DeliveryState
from tests.engine.federation import cases_hosted_in, submit

PASSWORD = "taxii-test-secret"


@pytest.fixture
def fr_config(fed_paths: dict[str, Path]) -> Path:
    path = fed_paths["FR-PDC"]
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    doc["partners"].append({"id": "MISP-EU", "kind": "network", "transport": "taxii", "format": "stix",
                            "tlp_max": "amber", "options": {"taxii_password": PASSWORD, "taxii_write": True}})
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
async def fr(fr_config: Path, federation: dict[str, RunningGateway]) -> RunningGateway:
    return federation["FR-PDC"]


def shareable(count: int) -> list[Any]:
    """Cases hosted outside every partner country (routed to the network), at a TLP the platform may see."""
    cases = cases_hosted_in("JP", count, seed=41)
    for case in cases:
        case.tlp = Tlp.GREEN
    return cases


def read_all(url: str, per_request: int) -> tuple[list[dict[str, Any]], int]:
    server = Server(f"{url}/taxii2/", user="MISP-EU", password=PASSWORD)
    [root] = server.api_roots
    [collection] = root.collections
    assert collection.can_read and collection.can_write
    objects: list[dict[str, Any]] = []
    pages = 0
    for envelope in as_pages(collection.get_objects, per_request=per_request):
        objects += envelope.get("objects", [])
        pages += 1
    return objects, pages


async def test_taxii2_client_reads_the_collection_page_by_page_and_gets_every_shareable_case_once(
    fr: RunningGateway,
) -> None:
    cases = shareable(12)
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)
    objects, pages = await asyncio.to_thread(read_all, fr.url, 7)
    reports = Counter(o["id"] for o in objects if o["type"] == "report")
    assert reports == Counter({f"report--{c.case_id}": 1 for c in cases})
    assert pages > 3
    urls = {o["value"] for o in objects if o["type"] == "url"}
    assert urls == {i.url for c in cases for i in c.items}
    deliveries = await fr.app[SERVICES].store.deliveries("MISP-EU")
    assert len(deliveries) == 12 and all(d.state is DeliveryState.DELIVERED for d in deliveries)


async def test_added_after_returns_only_what_was_added_later(fr: RunningGateway) -> None:
    first, second = shareable(4)[:2], shareable(4)[2:]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, first)
        await asyncio.sleep(0.05)
        cut = time.time()
        await asyncio.sleep(0.05)
        await submit(session, fr, second)

    def read_after() -> set[str]:
        server = Server(f"{fr.url}/taxii2/", user="MISP-EU", password=PASSWORD)
        collection = server.api_roots[0].collections[0]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(cut)) + f".{int(cut % 1 * 1e6):06d}Z"
        envelope = collection.get_objects(added_after=stamp)
        manifest = collection.get_manifest(added_after=stamp)
        assert {m["id"] for m in manifest["objects"]} == {o["id"] for o in envelope["objects"]}
        return {o["id"] for o in envelope["objects"] if o["type"] == "report"}

    assert await asyncio.to_thread(read_after) == {f"report--{c.case_id}" for c in second}


async def test_a_partner_allowed_to_write_adds_indicators_that_become_cases(fr: RunningGateway) -> None:
    def add() -> dict[str, Any]:
        server = Server(f"{fr.url}/taxii2/", user="MISP-EU", password=PASSWORD)
        collection = server.api_roots[0].collections[0]
        envelope = {"objects": [{
            "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-11-20T10:00:00.000Z", "modified": "2026-11-20T10:00:00.000Z", "pattern_type": "stix",
            "pattern": "[url:value = 'https://shared.example.net/a/b.jpg']", "valid_from": "2026-11-20T10:00:00Z"}]}
        status = collection.add_objects(envelope)
        return {"status": status.status, "success_count": status.success_count, "id": status.id}

    status = await asyncio.to_thread(add)
    assert status["status"] == "complete" and status["success_count"] == 1
    await wait_settled(fr, 10)
    assert await fr.app[SERVICES].store.count("cases") == 1


async def test_wrong_credentials_see_nothing(fr: RunningGateway) -> None:
    def read() -> int:
        return requests.get(f"{fr.url}/taxii2/", auth=("MISP-EU", "wrong"), timeout=10).status_code

    assert await asyncio.to_thread(read) == 401
