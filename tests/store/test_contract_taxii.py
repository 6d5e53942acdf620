"""Store contract, TAXII 2.1 collections: a partner's STIX outbox indexed object by object, read back in
the order objects were added with TAXII's filters, and status resources; on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

import orjson

from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import Delivery
from hotline_gateway.store.taxii_records import Filter
from tests.store.builders import case_doc, intake
from tests.store.conftest import Opener


def bundle_for(case_id: str, versions: tuple[str, ...] = ("2026-03-01T00:00:00.000Z",)) -> tuple[bytes, list[str]]:
    """A STIX bundle: a report in one or more versions and an indicator."""
    report = f"report--{uuid.uuid5(uuid.NAMESPACE_URL, case_id)}"
    indicator = f"indicator--{uuid.uuid4()}"
    objects = [{"type": "report", "id": report, "spec_version": "2.1", "created": versions[0], "modified": v}
               for v in versions]
    objects.append({"type": "indicator", "id": indicator, "spec_version": "2.1", "created": versions[0],
                    "modified": versions[0]})
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}), [report, indicator]


FIRST = "2026-03-01T00:00:00.000Z"


async def queue_bundle(store: Store, versions: tuple[str, ...] = (FIRST,)) -> tuple[str, list[str]]:
    doc = case_doc()
    job = intake(doc, partners=())
    payload, ids = bundle_for(doc["case_id"], versions)
    now = time.time()
    job.deliveries = [Delivery(message_id=str(uuid.uuid4()), case_id=doc["case_id"], partner="MISP", format="stix",
                               transport="taxii", message_type="case.notify", payload=payload,
                               payload_sha256=hashlib.sha256(payload).hexdigest(), signature="jws", created_at=now,
                               next_attempt_at=now, deadline_at=now + 3600)]
    await store.commit_intakes([job])
    return job.deliveries[0].message_id, ids


async def test_the_outbox_is_indexed_once_and_read_in_the_order_objects_were_added(store: Store) -> None:
    first, (report1, _) = await queue_bundle(store)
    second, _ = await queue_bundle(store)
    await store.taxii_refresh("MISP")
    await store.taxii_refresh("MISP")  # nothing new: nothing indexed twice
    entries = await store.taxii_objects("MISP", Filter(), 100)
    assert len(entries) == 4 and [e.message_id for e in entries] == [first, first, second, second]
    keys = [(e.added_us, e.seq) for e in entries]
    assert keys == sorted(keys) and len(set(keys)) == 4
    assert [e.object_id for e in await store.taxii_objects("MISP", Filter(ids=(report1,)), 100)] == [report1]
    assert {e.type for e in await store.taxii_objects("MISP", Filter(types=("indicator",)), 100)} == {"indicator"}
    rest = await store.taxii_objects("MISP", Filter(after=keys[1]), 100)
    assert [(e.added_us, e.seq) for e in rest] == keys[2:]
    assert await store.taxii_objects("NOBODY", Filter(), 100) == []
    assert {d.message_id for d in await store.taxii_undelivered([first, second, "unknown"])} == {first, second}


async def test_versions_of_an_object_are_chosen_by_match_version(store: Store) -> None:
    v1, v2 = "2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"
    _, (report, _) = await queue_bundle(store, (v1, v2))
    await store.taxii_refresh("MISP")
    by = {v: [e.version for e in await store.taxii_objects("MISP", Filter(ids=(report,), versions=(v,)), 10)]
          for v in ("last", "first", "all")}
    assert by == {"last": [v2], "first": [v1], "all": [v1, v2]}


async def test_a_status_resource_is_kept_for_its_partner_only(store: Store) -> None:
    status_id = str(uuid.uuid4())
    status = {"id": status_id, "status": "complete", "total_count": 1, "success_count": 1}
    await store.taxii_put_status("MISP", status)
    assert await store.taxii_status("MISP", status_id) == status
    assert await store.taxii_status("OPENCTI", status_id) is None


async def test_nodes_indexing_at_once_index_every_object_once_in_order(open_store: Opener) -> None:
    """On PostgreSQL, nodes commit and index concurrently; on SQLite, one store does both (same promise)."""
    a = await open_store("fr-1")
    b = await open_store("fr-2") if open_store.url is not None else a
    queued = await asyncio.gather(*(queue_bundle(s) for s in (a, b) * 10))
    await asyncio.gather(*(s.taxii_refresh("MISP") for s in (a, b, a, b)))
    for s in (a, b):
        await s.taxii_refresh("MISP")
    entries = await a.taxii_objects("MISP", Filter(versions=("all",)), 1000)
    assert sorted(e.object_id for e in entries) == sorted(i for _, ids in queued for i in ids)
    keys = [(e.added_us, e.seq) for e in entries]
    assert keys == sorted(keys)
