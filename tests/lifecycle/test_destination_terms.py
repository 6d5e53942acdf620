"""Each destination gets a retraction in its own terms, judged by the destination's side (issue 14 item 2):
STIX objects revoked on TAXII (read with taxii2-client, checked by OASIS's stix2-validator), an IODEF document
whose History says so (checked against the official schema), the retraction's action on the ICCAM-style
network's report, and a CyberTipline-style API that retracts an unfinished report and says "not possible"
for a filed one."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tomli_w
from lxml import etree
from taxii2client.v21 import Server

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.model import Case, Category, LegalClass, Tlp
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim import demo_partners
from hotline_gateway.sim.demo import TOKEN, write_federation
from tests.adapters.judge import judge_files
from tests.adapters.stix_validator import errors as stix_errors
from tests.engine.federation import cases_hosted_in, submit
from tests.support.waiting import eventually

AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "taxii-lifecycle-secret"
IODEF = "{urn:ietf:params:xml:ns:iodef-2.0}"


@dataclass
class Rig:
    fr: RunningGateway
    sims: demo_partners.SimulatedPartners
    drop: Path


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """FR-PDC alone, routing every case to the network (ICCAM-style API), the CyberTipline-style API, a TAXII
    collection (MISP-EU) and a police CSIRT that collects IODEF from a drop folder."""
    paths = write_federation(tmp_path)
    sims = await demo_partners.start(tmp_path, paths["FR-PDC"], inbound=0)
    doc = tomllib.loads(paths["FR-PDC"].read_text(encoding="utf-8"))
    drop = tmp_path / "drop"
    doc["partners"] = [p for p in doc["partners"] if p["id"] in ("INHOPE-ICCAM", "US-NCMEC")] + [
        {"id": "MISP-EU", "kind": "network", "transport": "taxii", "format": "stix", "tlp_max": "red",
         "options": {"taxii_password": PASSWORD}},
        {"id": "CERT-DROP", "kind": "law_enforcement", "transport": "filedrop", "format": "iodef", "tlp_max": "red",
         "options": {"directory": str(drop)}},
    ]
    doc["routes"] = [{"name": "everyone", "to": ["INHOPE-ICCAM", "US-NCMEC", "MISP-EU", "CERT-DROP"]}]
    doc["delivery"] |= {"base_delay_s": 60.0, "max_delay_s": 120.0}
    paths["FR-PDC"].write_text(tomli_w.dumps(doc), encoding="utf-8")
    fr = RunningGateway(config_mod.load(paths["FR-PDC"]))
    await fr.start()
    yield Rig(fr, sims, drop)
    await fr.stop()
    await sims.stop()


def a_case(seed: int, items: int = 2) -> Case:
    [case] = cases_hosted_in("US", 1, seed=seed)
    while len(case.items) < items:
        [more] = cases_hosted_in("US", 1, seed=seed + 1000 + len(case.items))
        case.items += more.items
    case.items = case.items[:items]
    case.category, case.tlp = Category.CSAM, Tlp.AMBER
    for item in case.items:
        item.legal_class, item.actions = LegalClass.BASELINE, []
    return case


async def info(fr: RunningGateway, case_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as s, s.get(f"{fr.url}/v1/cases/{case_id}", headers=AUTH) as r:
        assert r.status == 200
        doc: dict[str, Any] = await r.json()
        return doc


async def retract(fr: RunningGateway, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as s, s.post(f"{fr.url}/v1/cases/{case_id}/retract", json=body,
                                                    headers=AUTH) as r:
        doc: dict[str, Any] = await r.json()
        assert r.status == 202, doc
        return doc


def taxii_objects(fr: RunningGateway) -> list[dict[str, Any]]:
    server = Server(f"{fr.url}/taxii2/", user="MISP-EU", password=PASSWORD)
    [root] = server.api_roots
    [collection] = root.collections
    envelope = collection.get_objects(version="all")
    return list(envelope.get("objects", []))


def delivered(doc: dict[str, Any], partner: str, kind: str) -> bool:
    return any(d["partner"] == partner and d["type"] == kind and d["state"] == "delivered"
               for d in doc["deliveries"])


async def test_stix_iodef_and_iccam_state_the_retraction_each_in_its_own_terms(rig: Rig) -> None:
    fr = rig.fr
    case = a_case(1501)
    case_id = str(case.case_id)
    async with aiohttp.ClientSession() as s:
        await submit(s, fr, [case])
    await asyncio.to_thread(taxii_objects, fr)  # MISP-EU fetches the case

    async def sent() -> bool:
        doc = await info(fr, case_id)
        return all(delivered(doc, p, "case.notify") for p in ("INHOPE-ICCAM", "US-NCMEC", "MISP-EU", "CERT-DROP"))

    await eventually(sent, what="the case at all four destinations")
    first, second = (str(i.item_id) for i in case.items)
    await retract(fr, case_id, {"reason": "not_illegal", "item_ids": [first], "note": "re-assessed"})
    await asyncio.to_thread(taxii_objects, fr)  # MISP-EU fetches again: that is its acknowledgement

    async def taken_back() -> bool:
        doc = await info(fr, case_id)
        return all(delivered(doc, p, "case.retract") for p in ("INHOPE-ICCAM", "US-NCMEC", "MISP-EU", "CERT-DROP"))

    await eventually(taken_back, what="the retraction at all four destinations")
    acks = {d["partner"]: d["acknowledgement"] for d in (await info(fr, case_id))["lifecycle"][0]["destinations"]}
    assert acks["MISP-EU"]["state"] == "acknowledged" and acks["MISP-EU"]["by"] == "fetched by MISP-EU"
    assert acks["INHOPE-ICCAM"]["state"] == "acknowledged"
    assert acks["US-NCMEC"]["state"] == "not_possible" and "filed" in acks["US-NCMEC"]["detail"]

    # STIX: the retracted item's observed-data has a new, revoked version; the report still stands
    objects = await asyncio.to_thread(taxii_objects, fr)
    versions = [o for o in objects if o["type"] == "observed-data"
                and o["external_references"][0]["external_id"] == first]
    assert len(versions) == 2 and versions[-1]["revoked"] is True and "revoked" not in versions[0]
    assert versions[-1]["modified"] > versions[0]["modified"]
    assert not any(o.get("revoked") for o in objects if o["type"] == "report")
    assert stix_errors({"type": "bundle", "id": "bundle--6f7c4b8e-5b1a-4f9e-9b0e-3d1f2a4c5e6f",
                        "objects": [versions[-1]]}) == []

    # IODEF: the document the CSIRT collects says what was retracted, when and why, and is schema-valid
    files = sorted(rig.drop.glob("*.xml"))
    assert len(files) == 2
    assert judge_files("iodef", files) == []
    latest = etree.parse(str(max(files, key=lambda p: p.stat().st_mtime_ns)))
    [item] = latest.iter(f"{IODEF}HistoryItem")
    assert item.get("action") == "ext-value" and item.get("ext-action") == "retracted"
    assert "not_illegal" in (item.findtext(f"{IODEF}Description") or "")

    # ICCAM: the network's report got the retraction's action on the item concerned, and nothing on the other
    [report_id] = [rid for rid, r in rig.sims.iccam.reports.items() if r["hotlineReference"] == case_id]
    posted = [(ref, kind, body) for rid, ref, kind, body in rig.sims.iccam.updates if rid == report_id]
    actions = [body["actions"] for ref, kind, body in posted if kind == "actions" and ref == first]
    assert actions and actions[-1][0]["actionType"] == 7
    assert actions[-1][0]["reasonText"].startswith("retracted: not_illegal")
    assert not [b for ref, kind, b in posted if kind == "actions" and ref == second]

    # the whole case taken back: the STIX report is revoked too
    await retract(fr, case_id, {"reason": "duplicate"})
    await asyncio.to_thread(taxii_objects, fr)

    async def revoked() -> bool:
        objects = await asyncio.to_thread(taxii_objects, fr)
        return any(o["type"] == "report" and o.get("revoked") for o in objects)

    await eventually(revoked, what="the report revoked on TAXII")
    doc = await info(fr, case_id)
    assert doc["case"]["status"] == "retracted"
    report = [o for o in await asyncio.to_thread(taxii_objects, fr) if o["type"] == "report"][-1]
    assert stix_errors({"type": "bundle", "id": "bundle--6f7c4b8e-5b1a-4f9e-9b0e-3d1f2a4c5e6f",
                        "objects": [report]}) == []


async def test_an_unfinished_api_report_is_retracted_there_and_its_filing_never_finishes(rig: Rig) -> None:
    """The CyberTipline-style API failed at finish: the report waits there unfinished, and our notice waits to
    finish it. A retraction cancels our notice and retracts the report at the API (its answer is the ack)."""
    fr, tip = rig.fr, rig.sims.cybertip
    tip.fail_next("finish", 1000)
    case = a_case(1502, items=1)
    case_id = str(case.case_id)
    async with aiohttp.ClientSession() as s:
        await submit(s, fr, [case])
    store = fr.app[SERVICES].store

    async def stuck() -> bool:
        rows = [d for d in await store.case_deliveries(case_id) if d.partner == "US-NCMEC"]
        return bool(rows) and rows[0].state.value == "queued" and bool(await store.transport_state(rows[0].message_id))

    await eventually(stuck, what="an unfinished report waiting at the API")
    [filed] = [r for r in tip.reports.values() if not r.finished]
    answer = await retract(fr, case_id, {"reason": "law_enforcement_request"})
    assert "US-NCMEC" in answer["queued_for"]  # the filing had begun there: it is retracted, not just dropped

    async def retracted() -> bool:
        return delivered(await info(fr, case_id), "US-NCMEC", "case.retract")

    await eventually(retracted, what="the retraction at the API")
    assert filed.retracted and not filed.finished
    doc = await info(fr, case_id)
    ack = {d["partner"]: d["acknowledgement"] for d in doc["lifecycle"][0]["destinations"]}["US-NCMEC"]
    assert ack["state"] == "acknowledged" and ack["by"] == "cybertip"
    assert [d["state"] for d in doc["deliveries"] if d["partner"] == "US-NCMEC" and d["type"] == "case.notify"] == \
        ["cancelled"]
