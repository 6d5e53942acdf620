"""Retractions and corrections across three gateways (issue 14, must-show): FR-PDC sends a case to DE-HOTLINE
(which forwards it onwards to a host's abuse desk), to FR-POLICE, and to a host by e-mail; FR takes two items
back, or corrects an item's legal class, and every party gets it in its own terms, with each acknowledgement
shown per destination."""

from __future__ import annotations

import base64
import json
import tomllib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import orjson
import pytest
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.model import Case, Category, Hash, HashAlgo, LegalClass, dump_case
from hotline_gateway.core.schema import lifecycle_validator
from hotline_gateway.crypto.jws import sign_detached, verify_detached
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.sealing import unseal
from hotline_gateway.pipeline.sign import payload_digest
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, write_federation
from hotline_gateway.sim.mail_server import MailServer
from hotline_gateway.store.sqlite.store import SqliteStore
from tests.engine.federation import cases_hosted_in, signed_post, signing_key, submit
from tests.support.waiting import eventually

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class World:
    fr: RunningGateway
    de: RunningGateway
    police_root: Path
    fr_root: Path
    mail: MailServer
    police_config: Path


def _host(mail: MailServer, country: str) -> dict[str, Any]:
    return {"id": f"{country}-HOST", "kind": "host", "country": country, "transport": "smtp", "format": "xarf",
            "options": {"smtp_host": "127.0.0.1", "smtp_port": mail.port, "tls": "none",
                        "from": f"notices@{country.lower()}.test",
                        "abuse_contacts": {"*": f"abuse@{country.lower()}.test"}}}


@pytest.fixture
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """FR routes every case to DE-HOTLINE, FR-POLICE and DE-HOST (e-mail); DE forwards what FR sends it to
    DE-HOST too, and knows FR-POLICE's keys (so FR-POLICE can try to retract FR's case there). FR-POLICE is
    not started: what FR queued for it stays unsent, and FR waits 60 s before trying again. FR's store is
    SQLite, or PostgreSQL when a test asks for it (``indirect`` parameter)."""
    mail = await MailServer().start()
    paths = write_federation(tmp_path)
    fr_doc = tomllib.loads(paths["FR-PDC"].read_text(encoding="utf-8"))
    fr_doc["partners"].append(_host(mail, "DE"))
    fr_doc["routes"] = [{"name": "everyone", "to": ["DE-HOTLINE", "FR-POLICE", "DE-HOST"]}]
    fr_doc["delivery"] |= {"base_delay_s": 60.0, "max_delay_s": 120.0}
    if getattr(request, "param", "sqlite") == "postgresql":
        fr_doc["gateway"] |= {"store": request.getfixturevalue("pg_url"), "node": "fr-1"}
    paths["FR-PDC"].write_text(tomli_w.dumps(fr_doc), encoding="utf-8")
    de_doc = tomllib.loads(paths["DE-HOTLINE"].read_text(encoding="utf-8"))
    police = tomllib.loads(paths["FR-POLICE"].read_text(encoding="utf-8"))
    de_doc["partners"] += [_host(mail, "DE") | {"id": "DE-HOST"},
                           {**fr_doc["partners"][1], "id": "FR-POLICE"}]
    de_doc["routes"] = [{"name": "onwards-to-the-host", "origin": ["partner"], "to": ["DE-HOST"]}]
    paths["DE-HOTLINE"].write_text(tomli_w.dumps(de_doc), encoding="utf-8")
    fr = RunningGateway(config_mod.load(paths["FR-PDC"]))
    de = RunningGateway(config_mod.load(paths["DE-HOTLINE"]))
    await fr.start()
    await de.start()
    assert type(fr.app[SERVICES].store).__name__ == ("PostgresStore" if "store" in fr_doc["gateway"] else "SqliteStore")
    assert police["gateway"]["id"] == "FR-POLICE"
    yield World(fr, de, paths["FR-POLICE"].parent, paths["FR-PDC"].parent, mail, paths["FR-POLICE"])
    await fr.stop()
    await de.stop()
    await mail.stop()


async def get_case(gw: RunningGateway, case_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as s, s.get(f"{gw.url}/v1/cases/{case_id}", headers=AUTH) as r:
        assert r.status == 200, await r.text()
        doc: dict[str, Any] = await r.json()
        return doc


async def post(gw: RunningGateway, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as s, s.post(f"{gw.url}{path}", json=body, headers=AUTH) as r:
        return r.status, await r.json(content_type=None)


def states(info: dict[str, Any], partner: str, kind: str = "case.notify") -> list[str]:
    return [d["state"] for d in info["deliveries"] if d["partner"] == partner and d["type"] == kind]


async def sent_everywhere(w: World, case: Case) -> None:
    """Submit ``case`` at FR and wait until DE and both hosts' notices are delivered (FR-POLICE's waits)."""
    case_id = str(case.case_id)
    async with aiohttp.ClientSession() as s:
        await submit(s, w.fr, [case])

    async def delivered() -> bool:
        fr = await get_case(w.fr, case_id)
        if states(fr, "DE-HOTLINE") != ["delivered"] or states(fr, "DE-HOST") != ["delivered"]:
            return False
        if states(fr, "FR-POLICE") != ["queued"] or not any(
                d["attempts"] for d in fr["deliveries"] if d["partner"] == "FR-POLICE"):
            return False
        de = await w.de.app[SERVICES].store.case_deliveries(case_id)
        return [d.state.value for d in de if d.partner == "DE-HOST"] == ["delivered"]

    await eventually(delivered, what="the case reaching DE, its host, and FR's host", timeout=30)


def one_case(items: int = 3, seed: int = 1401) -> Case:
    [case] = cases_hosted_in("DE", 1, seed=seed)
    while len(case.items) < items:
        extra = msgspec.structs.replace(case.items[0], item_id=uuid.uuid4(),
                                        url=f"https://files.example.org/{uuid.uuid4().hex}.jpg")
        case.items.append(extra)
    case.items = case.items[:items]
    case.category = Category.CSAM  # what X-ARF carries (csam, csem)
    for item in case.items:
        item.legal_class = LegalClass.BASELINE
        item.actions = []
    return case


def mails_about(w: World, word: str) -> list[Any]:
    return [m for m in w.mail.received if word in str(m["Subject"])]


def attachment(msg: Any, name: str) -> bytes:
    for part in msg.iter_attachments():
        if part.get_filename() == name:
            payload: bytes = part.get_payload(decode=True)
            return payload
    raise AssertionError(f"no attachment {name}")


@pytest.mark.parametrize("world", ["sqlite", "postgresql"], indirect=True)
async def test_a_retraction_of_two_items_reaches_every_party_in_its_own_terms_with_acknowledgements(
        world: World) -> None:
    w = world
    case = one_case()
    case_id = str(case.case_id)
    await sent_everywhere(w, case)
    taken = sorted(str(i.item_id) for i in case.items[:2])
    kept = str(case.items[2].item_id)

    status, answer = await post(w.fr, f"/v1/cases/{case_id}/retract",
                                {"reason": "wrong_url", "item_ids": taken, "note": "addresses mistyped"})
    assert status == 202, answer
    assert sorted(answer["queued_for"]) == ["DE-HOST", "DE-HOTLINE"]
    assert [c["partner"] for c in answer["cancelled"]] == ["FR-POLICE"]  # queued, never sent: cancelled

    async def acknowledged() -> bool:
        info = await get_case(w.fr, case_id)
        return states(info, "DE-HOTLINE", "case.retract") == ["delivered"] and \
            states(info, "DE-HOST", "case.retract") == ["delivered"]

    await eventually(acknowledged, what="FR's retraction delivered to DE and to the host")

    fr = await get_case(w.fr, case_id)
    # what FR-POLICE was to get still goes, without the retracted items: nothing accepted is lost
    police = [d for d in fr["deliveries"] if d["partner"] == "FR-POLICE"]
    assert sorted(d["state"] for d in police) == ["cancelled", "queued"]
    replacement = await w.fr.app[SERVICES].store.case_deliveries(case_id)
    [again] = [d for d in replacement if d.partner == "FR-POLICE" and d.state.value == "queued"]
    assert again.item_ids == [kept] and again.message_type == "case.notify"
    # the case itself: the two items carry the retraction, the third stands
    items = {i["item_id"]: i for i in fr["case"]["items"]}
    for item_id in taken:
        assert items[item_id]["actions"][-1]["type"] == "retracted"
        assert items[item_id]["actions"][-1]["reason"] == "wrong_url: addresses mistyped"
    assert not any(a["type"] == "retracted" for a in items[kept].get("actions", []))
    assert fr["case"]["status"] != "retracted"
    # acknowledgements per destination
    [notice] = fr["lifecycle"]
    assert notice["kind"] == "retract" and notice["reason"] == "wrong_url" and sorted(notice["item_ids"]) == taken
    acks = {d["partner"]: d["acknowledgement"] for d in notice["destinations"]}
    assert acks["DE-HOTLINE"]["state"] == "acknowledged" and acks["DE-HOTLINE"]["by"] == "signed receipt"
    assert acks["DE-HOST"]["state"] == "sent" and "no acknowledgement is possible" in acks["DE-HOST"]["detail"]
    assert acks["FR-POLICE"]["state"] == "cancelled_unsent"
    originals = {d["partner"]: d["original"] for d in notice["destinations"]}
    assert [o["state"] for o in originals["DE-HOTLINE"]] == ["delivered"]

    # DE: marked retracted on the originator's word, and propagated to where DE had sent it
    async def propagated() -> bool:
        de = await get_case(w.de, case_id)
        return states(de, "DE-HOST", "case.retract") == ["delivered"]

    await eventually(propagated, what="DE's retraction to its host")
    de = await get_case(w.de, case_id)
    de_items = {i["item_id"]: i for i in de["case"]["items"]}
    assert all(de_items[i]["actions"][-1]["type"] == "retracted" for i in taken)
    [de_notice] = de["lifecycle"]
    assert de_notice["origin"] == "FR-PDC" and de_notice["notice_id"] == notice["notice_id"]

    # the hosts: one withdrawal e-mail from each gateway, in reply to the original notice, naming the
    # addresses and the X-ARF report ids, with the notice signed
    withdrawals = mails_about(w, "WITHDRAWN")
    assert len(withdrawals) == 2
    urls = {str(i.item_id): i.url for i in case.items}
    keys = {"FR-PDC": KeyDirectory.load(w.fr_root / "keys"), "DE-HOTLINE": KeyDirectory.load(w.de.config.keys_dir)}
    for mail in withdrawals:
        text = mail.get_body(("plain",)).get_content()
        for item_id in taken:
            assert urls[item_id] in text and item_id in text  # the address, and its X-ARF report id
        assert urls[kept] not in text
        assert mail["In-Reply-To"] and str(mail["In-Reply-To"]).strip().split("@")[0].strip("<") in text
        body = attachment(mail, "notice.lifecycle.json")
        signature = attachment(mail, "notice.lifecycle.json.jws").decode()
        doc = orjson.loads(body)
        lifecycle_validator().validate(doc)
        assert doc["reason"] == "wrong_url" and sorted(doc["item_ids"]) == taken and "case" not in doc
        verify_detached(body, signature, keys[doc["originator"]])

    # both gateways' audit trails still verify
    for gw in (w.fr, w.de):
        summary = await gw.app[SERVICES].store.verify_audit()
        assert summary.entries > 0


async def test_only_the_originator_may_retract_a_partner_refused_and_audited(world: World) -> None:
    """FR-POLICE is a partner DE trusts, but the case came to DE from FR: FR-POLICE's signed retraction of it
    is refused (403 not_originator), the refusal is audited, and nothing changes."""
    w = world
    case = one_case(2, seed=1402)
    case_id = str(case.case_id)
    await sent_everywhere(w, case)
    key = signing_key(w.police_root)
    notice = {"notice_id": str(uuid.uuid4()), "kind": "retract", "case_id": case_id, "originator": "FR-POLICE",
              "at": "2026-12-02T10:00:00Z", "reason": "law_enforcement_request",
              "item_ids": [str(case.items[0].item_id)]}
    payload = orjson.dumps(notice, option=orjson.OPT_SORT_KEYS)
    msg = {"message_id": str(uuid.uuid4()), "type": "case.retract", "sender": "FR-POLICE", "recipient": "DE-HOTLINE",
           "created": "2026-12-02T10:00:00Z", "case_id": case_id, "format": "lifecycle",
           "payload": base64.b64encode(payload).decode(), "payload_sha256": payload_digest(payload),
           "signatures": [{"kid": key.kid, "jws": sign_detached(payload, key)}]}
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(s, f"{w.de.url}/v1/messages", orjson.dumps({"messages": [msg]}), key)
    problem = orjson.loads(body)
    assert status == 403 and problem["code"] == "not_originator", problem
    de = await get_case(w.de, case_id)
    assert "lifecycle" not in de
    assert not any(a["type"] == "retracted" for i in de["case"]["items"] for a in i.get("actions", []))
    audit = await w.de.app[SERVICES].store.recent_audit(10)
    assert any(a["kind"] == "message.refused" and a["case_id"] == case_id and a["partner"] == "FR-POLICE"
               for a in audit)


def _retract_message(key: Any, case_id: str, payload: bytes, sender: str = "FR-POLICE") -> dict[str, Any]:
    return {"message_id": str(uuid.uuid4()), "type": "case.retract", "sender": sender, "recipient": "DE-HOTLINE",
            "created": "2026-12-02T10:00:00Z", "case_id": case_id, "format": "lifecycle",
            "payload": base64.b64encode(payload).decode(), "payload_sha256": payload_digest(payload),
            "signatures": [{"kid": key.kid, "jws": sign_detached(payload, key)}]}


async def test_a_signed_retraction_of_a_case_never_seen_or_in_utf16_is_refused_and_changes_nothing(
        world: World) -> None:
    """A trusted partner's signed retraction about a case DE never received is 404 case_not_found; the
    originator's own retraction of a case DE holds, encoded as UTF-16 (signed as sent), is refused as
    unreadable (the wire is UTF-8 JSON). Neither leaves a lifecycle record or a retracted item."""
    w = world
    police = signing_key(w.police_root)
    never_seen = str(uuid.uuid4())
    notice = {"notice_id": str(uuid.uuid4()), "kind": "retract", "case_id": never_seen, "originator": "FR-POLICE",
              "at": "2026-12-02T10:00:00Z", "reason": "law_enforcement_request", "item_ids": [str(uuid.uuid4())]}
    case = one_case(2, seed=1405)
    case_id = str(case.case_id)
    await sent_everywhere(w, case)
    fr = signing_key(w.fr_root)
    own = {**notice, "case_id": case_id, "originator": "FR-PDC", "reason": "duplicate",
           "item_ids": [str(case.items[0].item_id)]}
    sends = [(police, "FR-POLICE", never_seen, orjson.dumps(notice, option=orjson.OPT_SORT_KEYS)),
             (fr, "FR-PDC", case_id, json.dumps(own, sort_keys=True).encode("utf-16"))]
    answers = []
    async with aiohttp.ClientSession() as s:
        for key, sender, about, payload in sends:
            msg = _retract_message(key, about, payload, sender)
            status, _, body = await signed_post(s, f"{w.de.url}/v1/messages", orjson.dumps({"messages": [msg]}),
                                                key)
            answers.append((status, orjson.loads(body).get("code", body[:300])))
    assert answers[0] == (404, "case_not_found"), answers
    assert answers[1][0] == 422, answers
    for about in (never_seen, case_id):
        assert await w.de.app[SERVICES].store.lifecycle_records(about) == []
    de = await get_case(w.de, case_id)
    assert not any(a["type"] == "retracted" for i in de["case"]["items"] for a in i.get("actions", []))


async def test_a_correction_of_an_items_legal_class_reaches_every_destination_naming_the_change(
        world: World) -> None:
    w = world
    case = one_case(2, seed=1403)
    case_id = str(case.case_id)
    await sent_everywhere(w, case)
    changed = str(case.items[1].item_id)
    new = dump_case(case)
    new["items"][1]["legal_class"] = "national"
    status, answer = await post(w.fr, f"/v1/cases/{case_id}/correct", {"case": new, "note": "second opinion"})
    assert status == 202, answer
    assert answer["changes"] == [{"item_id": changed, "field": "legal_class", "from": "baseline", "to": "national"}]
    assert sorted(answer["queued_for"]) == ["DE-HOST", "DE-HOTLINE"]

    async def everywhere() -> bool:
        fr = await get_case(w.fr, case_id)
        de = await get_case(w.de, case_id)
        return states(fr, "DE-HOTLINE", "case.correct") == ["delivered"] and \
            states(fr, "DE-HOST", "case.correct") == ["delivered"] and \
            states(de, "DE-HOST", "case.correct") == ["delivered"]

    await eventually(everywhere, what="the correction at DE, its host and FR's host")
    fr, de = await get_case(w.fr, case_id), await get_case(w.de, case_id)
    assert {i["item_id"]: i["legal_class"] for i in fr["case"]["items"]}[changed] == "national"
    assert {i["item_id"]: i["legal_class"] for i in de["case"]["items"]}[changed] == "national"
    for info in (fr, de):
        [notice] = info["lifecycle"]
        assert notice["kind"] == "correct"
        assert notice["changes"] == [{"item_id": changed, "field": "legal_class", "from": "baseline",
                                      "to": "national"}]
    # FR-POLICE had nothing yet: its queued notice was replaced by the corrected version
    store = w.fr.app[SERVICES].store
    assert isinstance(store, SqliteStore)
    police = await store.case_deliveries(case_id)
    [queued] = [d for d in police if d.partner == "FR-POLICE" and d.state.value == "queued"]
    assert queued.sealed_payload is not None  # it carries the reporter (the police may have it): sealed
    sent = orjson.loads(unseal(store.vault.get([case_id])[case_id], queued.sealed_payload, case_id))
    assert sent["reporter"]["kind"] != "withheld"
    assert {i["item_id"]: i["legal_class"] for i in sent["items"]}[changed] == "national"
    corrections = mails_about(w, "CORRECTED")
    assert len(corrections) == 2
    for mail in corrections:
        text = mail.get_body(("plain",)).get_content()
        assert f"legal_class of item {changed}: baseline -> national" in text


async def test_an_item_known_only_by_its_hashes_goes_to_gateways_and_police_but_never_to_an_abuse_desk(
        world: World) -> None:
    """X-ARF reports addresses: a hash-only item is left out of the host's notice, with the reason kept among
    the routing decisions, while partner gateways get it (issue 10: IODEF hash indicators are items)."""
    w = world
    case = one_case(2, seed=1404)
    case.items[1] = msgspec.structs.replace(case.items[1], url=None, hashes=[Hash(HashAlgo.SHA256, "cd" * 32)])
    case_id, hash_only = str(case.case_id), str(case.items[1].item_id)
    await sent_everywhere(w, case)
    rows = await w.fr.app[SERVICES].store.case_deliveries(case_id)
    by_partner = {d.partner: d.item_ids for d in rows}
    assert by_partner["DE-HOST"] == [str(case.items[0].item_id)]
    assert sorted(by_partner["DE-HOTLINE"]) == sorted(str(i.item_id) for i in case.items)
    info = await get_case(w.fr, case_id)
    assert any(d["item_id"] == hash_only and d["destination"] == "DE-HOST" and not d["sent"]
               and "only hashes" in d["reason"] for d in info["routing"])
    de = (await w.de.app[SERVICES].store.case_docs([case_id]))[case_id]
    assert [i.get("url") for i in de["items"] if i["item_id"] == hash_only] == [None]
