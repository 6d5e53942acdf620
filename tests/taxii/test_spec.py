"""TAXII 2.1's MUSTs, checked with raw requests against the spec's tables (headers, media types, bodies) and
with the OASIS taxii2-client: added_after strictly after, empty lists omitted, limit validated, TAXII error
resources with WWW-Authenticate, match[] filters, Get an Object and its versions, a version for every
manifest record, status resources in the store with versions in their details."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from taxii2client.v21 import Server

from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.model import Tlp
from hotline_gateway.service import RunningGateway
from hotline_gateway.store.records import Delivery, Intake
from tests.engine.federation import cases_hosted_in, submit
from tests.taxii.conftest import PASSWORD

TAXII = "application/taxii+json;version=2.1"


def shareable(count: int, seed: int = 41) -> list[Any]:
    cases = cases_hosted_in("JP", count, seed=seed)
    for case in cases:
        case.tlp = Tlp.GREEN
    return cases


class Client:
    """Raw HTTP as a TAXII client sends it, answers checked for TAXII's media type on the way."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def get(self, path: str, *, user: str = "MISP-EU", password: str = PASSWORD,
                  accept: str = TAXII, **params: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        headers = {"Accept": accept, "Authorization": aiohttp.encode_basic_auth(user, password)}
        async with self.session.get(self.base + path, params=params, headers=headers) as r:
            body = await r.read()
            assert r.headers["Content-Type"] == TAXII, (path, r.status, r.headers["Content-Type"])
            return r.status, dict(r.headers), orjson.loads(body) if body else {}

    async def post(self, path: str, doc: Any, *, user: str = "MISP-EU",
                   content_type: str = TAXII) -> tuple[int, dict[str, str], dict[str, Any]]:
        headers = {"Accept": TAXII, "Content-Type": content_type,
                   "Authorization": aiohttp.encode_basic_auth(user, PASSWORD)}
        async with self.session.post(self.base + path, data=orjson.dumps(doc), headers=headers) as r:
            assert r.headers["Content-Type"] == TAXII
            return r.status, dict(r.headers), orjson.loads(await r.read())


@pytest.fixture
async def client(fr: RunningGateway) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, fr.url)


async def collection_path(client: Client, user: str = "MISP-EU") -> str:
    status, _, body = await client.get("/taxii2/hotline/collections/", user=user)
    assert status == 200
    return f"/taxii2/hotline/collections/{body['collections'][0]['id']}/"


def assert_error(status: int, headers: dict[str, str], body: dict[str, Any], expected: int) -> None:
    """A TAXII error resource (§3.6.1): title required; http_status as a string; our stable error_code."""
    assert status == expected
    assert headers["Content-Type"] == TAXII
    assert isinstance(body["title"], str) and body["http_status"] == str(expected) and body["error_code"]


async def test_added_after_is_strictly_after_so_polling_from_the_last_header_returns_nothing_twice(
    fr: RunningGateway, client: Client
) -> None:
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, shareable(3))
    objects = await collection_path(client) + "objects/"
    status, headers, first = await client.get(objects)
    assert status == 200 and first["objects"]
    last = headers["X-TAXII-Date-Added-Last"]
    status, headers, again = await client.get(objects, added_after=last)
    assert status == 200 and again == {"more": False} and "X-TAXII-Date-Added-Last" not in headers
    async with aiohttp.ClientSession() as session:
        later = shareable(2, seed=42)
        await submit(session, fr, later)
    status, headers, fresh = await client.get(objects, added_after=last)
    reports = {o["id"] for o in fresh["objects"] if o["type"] == "report"}
    assert reports == {f"report--{c.case_id}" for c in later}
    assert headers["X-TAXII-Date-Added-First"] > last
    assert (await client.get(objects, added_after=headers["X-TAXII-Date-Added-Last"]))[2] == {"more": False}


async def test_an_empty_collection_omits_the_empty_lists(client: Client) -> None:
    path = await collection_path(client)
    for resource in ("objects/", "manifest/"):
        status, headers, body = await client.get(path + resource)
        assert status == 200 and body == {"more": False}
        assert "X-TAXII-Date-Added-First" not in headers


@pytest.mark.parametrize("limit", ["0", "-1", "x", "1.5", ""])
async def test_an_invalid_limit_is_a_400_taxii_error(client: Client, limit: str) -> None:
    path = await collection_path(client)
    for resource in ("objects/", "manifest/"):
        assert_error(*await client.get(path + resource, limit=limit), 400)


async def test_errors_on_taxii_routes_are_taxii_error_resources(fr: RunningGateway, client: Client) -> None:
    path = await collection_path(client)
    status, headers, body = await client.get("/taxii2/", password="wrong")
    assert_error(status, headers, body, 401)
    assert headers["WWW-Authenticate"].startswith("Basic realm=")
    async with client.session.get(client.base + "/taxii2/") as r:  # no credentials at all
        assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Basic ")
        assert r.headers["Content-Type"] == TAXII
    assert_error(*await client.get("/taxii2/hotline/collections/not-ours/"), 404)
    assert_error(*await client.get(path + "objects/indicator--" + str(uuid.uuid4()) + "/"), 404)
    assert_error(*await client.get("/taxii2/hotline/status/" + str(uuid.uuid4()) + "/"), 404)
    assert_error(*await client.get(path + "objects/", added_after="yesterday"), 400)
    assert_error(*await client.get(path + "objects/", **{"match[version]": "newest"}), 400)
    assert_error(*await client.get(path, accept="application/json"), 406)
    reader_path = await collection_path(client, user="READER")
    assert_error(*await client.post(reader_path + "objects/", {"objects": []}, user="READER"), 403)
    assert_error(*await client.post(path + "objects/", {"objects": []}, content_type="application/json"), 415)
    assert_error(*await client.post(path + "objects/", {"objects": []}), 400)


async def test_match_type_id_and_version_filter_objects_and_manifest(fr: RunningGateway, client: Client) -> None:
    cases = shareable(2)
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)
    path = await collection_path(client)
    _, _, reports = await client.get(path + "objects/", **{"match[type]": "report"})
    assert {o["id"] for o in reports["objects"]} == {f"report--{c.case_id}" for c in cases}
    _, _, several = await client.get(path + "manifest/", **{"match[type]": "report,identity"})
    assert {r["id"].split("--")[0] for r in several["objects"]} == {"report", "identity"}
    one = f"report--{cases[0].case_id}"
    _, _, by_id = await client.get(path + "objects/", **{"match[id]": one})
    assert [o["id"] for o in by_id["objects"]] == [one]
    # a second version of the report, as a case update would add
    await add_version(fr, one, "2030-01-01T00:00:00.000Z")
    versions = {}
    for which in ("last", "first", "all"):
        _, _, found = await client.get(path + "objects/", **{"match[id]": one, "match[version]": which})
        versions[which] = [o["modified"] for o in found["objects"]]
    assert versions["last"] == ["2030-01-01T00:00:00.000Z"]
    assert len(versions["first"]) == 1 and versions["first"][0] < "2030"
    assert sorted(versions["all"]) == sorted(versions["first"] + versions["last"])
    _, _, exact = await client.get(path + "objects/", **{"match[id]": one,
                                                        "match[version]": "2030-01-01T00:00:00Z"})
    assert [o["modified"] for o in exact["objects"]] == ["2030-01-01T00:00:00.000Z"]
    # the default is the last version
    _, _, default = await client.get(path + "objects/", **{"match[id]": one})
    assert [o["modified"] for o in default["objects"]] == ["2030-01-01T00:00:00.000Z"]


async def add_version(fr: RunningGateway, report_id: str, modified: str) -> None:
    """A later bundle in the partner's outbox holding a newer version of ``report_id``."""
    store = fr.app[SERVICES].store
    [row] = [d for d in await store.deliveries("MISP-EU") if report_id.encode() in d.payload]
    bundle = orjson.loads(row.payload)
    report = next(o for o in bundle["objects"] if o["id"] == report_id)
    bundle["objects"] = [{**report, "modified": modified}]
    payload = orjson.dumps(bundle)

    now = time.time()
    later = Delivery(message_id=str(uuid.uuid4()), case_id=row.case_id, partner="MISP-EU", format="stix",
                     transport="taxii", message_type="case.update", payload=payload,
                     payload_sha256=hashlib.sha256(payload).hexdigest(), signature="x", created_at=now,
                     next_attempt_at=now, deadline_at=now + 3600)
    await store.commit_intakes([Intake(deliveries=[later])])


async def test_get_an_object_and_its_versions(fr: RunningGateway, client: Client) -> None:
    [case] = shareable(1)
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, [case])
    path = await collection_path(client)
    report = f"report--{case.case_id}"
    status, headers, envelope = await client.get(path + f"objects/{report}/")
    assert status == 200 and [o["id"] for o in envelope["objects"]] == [report] and envelope["more"] is False
    assert headers["X-TAXII-Date-Added-First"] == headers["X-TAXII-Date-Added-Last"]
    await add_version(fr, report, "2031-06-01T12:00:00.000Z")
    status, headers, versions = await client.get(path + f"objects/{report}/versions/")
    assert status == 200 and len(versions["versions"]) == 2 and versions["versions"][-1] == "2031-06-01T12:00:00.000Z"
    status, _, one = await client.get(path + f"objects/{report}/versions/", limit="1")
    assert one["more"] is True and len(one["versions"]) == 1 and "next" in one
    _, _, rest = await client.get(path + f"objects/{report}/versions/", next=one["next"])
    assert one["versions"] + rest["versions"] == versions["versions"]


async def test_every_manifest_record_has_a_version_and_the_spec_fields(fr: RunningGateway, client: Client) -> None:
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, shareable(3))
    path = await collection_path(client)
    _, _, manifest = await client.get(path + "manifest/")
    _, _, objects = await client.get(path + "objects/")
    assert len(manifest["objects"]) == len(objects["objects"])
    kinds = set()
    for record in manifest["objects"]:
        assert set(record) == {"id", "date_added", "version", "media_type"}
        assert record["version"] and record["media_type"] == "application/stix+json;version=2.1"
        kinds.add(record["id"].split("--")[0])
    assert {"url", "report", "marking-definition"} <= kinds  # SCOs and markings have versions too


async def test_taxii2_client_reads_objects_versions_and_status_kept_in_the_store(
    fr: RunningGateway, client: Client
) -> None:
    [case] = shareable(1)
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, [case])

    def with_client() -> tuple[Any, Any, Any, Any]:
        collection = Server(f"{fr.url}/taxii2/", user="MISP-EU", password=PASSWORD).api_roots[0].collections[0]
        report = collection.get_object(f"report--{case.case_id}")
        versions = collection.object_versions(f"report--{case.case_id}")
        indicator = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                     "created": "2026-11-20T10:00:00.000Z", "modified": "2026-11-21T10:00:00.000Z",
                     "pattern_type": "stix", "pattern": "[url:value = 'https://shared.example.net/c/d.jpg']",
                     "valid_from": "2026-11-20T10:00:00Z"}
        status = collection.add_objects({"objects": [indicator]})
        status.refresh()
        return report, versions, status, indicator

    report, versions, status, indicator = await asyncio.to_thread(with_client)
    assert [o["id"] for o in report["objects"]] == [f"report--{case.case_id}"]
    assert len(versions["versions"]) == 1
    assert status.status == "complete" and status.success_count == 1
    assert status.successes == [{"id": indicator["id"], "version": "2026-11-21T10:00:00.000Z"}]
    kept = await fr.app[SERVICES].store.taxii_status("MISP-EU", status.id)
    assert kept is not None and kept["successes"] == status.successes  # in the store, not in memory
    assert await fr.app[SERVICES].store.taxii_status("READER", status.id) is None  # only its owner's
