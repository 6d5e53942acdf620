"""Malformed STIX through TAXII "add objects": mutations of the OASIS examples and of our bundles (the same
mutator as tests/mutation) each get a status resource listing the failure, or a TAXII error resource for
an envelope that is not one -- never a 500, and the gateway still answers afterwards."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from hotline_gateway.service import RunningGateway
from tests.mutation.test_wire import sample
from tests.taxii.conftest import PASSWORD


async def test_mutated_stix_objects_added_through_taxii_get_a_status_or_a_taxii_error_never_500(
    fr: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {"Accept": "application/taxii+json;version=2.1", "Content-Type": "application/taxii+json;version=2.1",
               "Authorization": aiohttp.encode_basic_auth("MISP-EU", PASSWORD)}
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{fr.url}/taxii2/hotline/collections/") as r:
            collection = (await r.json(content_type=None))["collections"][0]["id"]
        url = f"{fr.url}/taxii2/hotline/collections/{collection}/objects/"
        for label, data in sample("stix"):
            # a bundle is an envelope too (its objects list; type and id are ignored): sent as the mutator wrote it
            async with session.post(url, data=data) as r:
                statuses[r.status] = statuses.get(r.status, 0) + 1
                answer = await r.read()
                assert r.status in (202, 400, 413, 422), f"{label}: {r.status} {answer[:300]!r}"
                assert r.headers["Content-Type"].startswith("application/taxii+json"), label
                body = orjson.loads(answer)
                if r.status == 202:
                    assert body["status"] == "complete" and body["total_count"] >= 0, label
                else:
                    assert "title" in body, label  # a TAXII error resource
        async with session.get(f"{fr.url}/healthz") as health:
            assert health.status == 200
    with capsys.disabled():
        print(f"\nTAXII add objects: {sum(statuses.values())} mutated envelopes, answers {statuses}")
