"""``route`` explains routing item by item with the reasons the gateway itself stores, and a case of our own
that routes nowhere is said on the gateway's console with its reasons."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.cli.main import main
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN


def set_ceiling(config: Path, partner: str, tlp: str) -> None:
    doc = tomllib.loads(config.read_text())
    for p in doc["partners"]:
        if p["id"] == partner:
            p["tlp_max"] = tlp
    config.write_text(tomli_w.dumps(doc))


@pytest.fixture
def mixed_case(case_doc: dict[str, Any]) -> dict[str, Any]:
    """TLP amber+strict; item 1 baseline hosted in DE, item 2 national hosted in FR, item 3 not illegal in FR."""
    doc = copy.deepcopy(case_doc)
    doc["tlp"] = "amber+strict"
    for item, (legal, country) in zip(doc["items"], [("baseline", "DE"), ("national", "FR"), ("not_illegal", "FR")],
                                      strict=True):
        item["legal_class"], item["assigned_country"] = legal, country
    return doc


def test_route_names_rules_added_destinations_and_the_policy_that_removed_one(
    fed_paths: dict[str, Path], mixed_case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 1 goes to DE-HOTLINE by the partner-country rule; item 2's police destination is removed by
    FR-POLICE's TLP ceiling and its host notice has no abuse desk; item 3 is stopped by the not-illegal rule."""
    config = fed_paths["FR-PDC"]
    set_ceiling(config, "FR-POLICE", "amber")
    case = tmp_path / "case.json"
    case.write_text(json.dumps(mixed_case))
    assert main(["route", "--config", str(config), str(case)]) == 0
    text = capsys.readouterr().out
    assert "rule hosted-in-partner-country matched; final" in text
    assert "+ DE-HOTLINE added" in text
    assert "- FR-POLICE removed by policy: TLP amber+strict above FR-POLICE's ceiling amber" in text
    assert "? @host: not sent, no abuse contact known for this host" in text
    assert "rule not-illegal-stays-here matched; final" in text
    assert "=> DE-HOTLINE receives item(s) 1" in text and "FR-POLICE receives" not in text


def set_partner(config: Path, partner: str, **values: Any) -> None:
    doc = tomllib.loads(config.read_text())
    for p in doc["partners"]:
        if p["id"] == partner:
            p.update(values)
    config.write_text(tomli_w.dumps(doc))


def test_an_item_its_originator_retracted_goes_no_further_unless_the_partner_keeps_retracted_items(
    fed_paths: dict[str, Path], mixed_case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Partner policy forbids forwarding a retracted item (issue 14): item 1 carries the originator's
    retraction, so DE-HOTLINE is removed by policy saying why; a partner configured with
    ``forward_retracted = true`` (one that keeps the complete record) is sent it."""
    config = fed_paths["FR-PDC"]
    mixed_case["items"][0]["actions"] = [{"type": "retracted", "at": "2026-03-02T10:00:00Z", "by": "FR-PDC",
                                          "reason": "wrong_url: mistyped"}]
    case = tmp_path / "case.json"
    case.write_text(json.dumps(mixed_case))
    assert main(["route", "--config", str(config), str(case)]) == 0
    text = capsys.readouterr().out
    assert "- DE-HOTLINE removed by policy: retracted by its originator" in text
    assert "DE-HOTLINE receives" not in text
    set_partner(config, "DE-HOTLINE", forward_retracted=True)
    assert main(["route", "--config", str(config), str(case)]) == 0
    text = capsys.readouterr().out
    assert "+ DE-HOTLINE added" in text and "=> DE-HOTLINE receives item(s) 1" in text


def test_a_case_that_routes_nowhere_says_so(
    fed_paths: dict[str, Path], mixed_case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fed_paths["FR-PDC"]
    set_ceiling(config, "DE-HOTLINE", "amber")
    set_ceiling(config, "FR-POLICE", "amber")
    case = tmp_path / "case.json"
    case.write_text(json.dumps(mixed_case))
    assert main(["route", "--config", str(config), str(case)]) == 0
    assert "=> routes nowhere" in capsys.readouterr().out


def test_bad_input_is_one_line_naming_file_and_field(
    fed_paths: dict[str, Path], mixed_case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mixed_case["tlp"] = "beige"
    case = tmp_path / "bad.json"
    case.write_text(json.dumps(mixed_case))
    assert main(["route", "--config", str(fed_paths["FR-PDC"]), str(case)]) == 2
    err = capsys.readouterr().err
    assert str(case) in err and "$.tlp" in err and len(err.strip().splitlines()) == 1


async def test_route_gives_the_decisions_the_gateway_stores_and_serve_warns_when_a_case_goes_nowhere(
    fed_paths: dict[str, Path], mixed_case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The decisions ``route --json`` prints are those a running gateway stored with the case (GET /v1/cases/{id});
    a second case, above every ceiling, is accepted and the console gets a warning naming why it went nowhere."""
    config = fed_paths["FR-PDC"]
    set_ceiling(config, "FR-POLICE", "amber")
    case = tmp_path / "case.json"
    case.write_text(json.dumps(mixed_case))
    assert main(["route", "--config", str(config), "--json", str(case)]) == 0
    explained = json.loads(capsys.readouterr().out)
    nowhere = copy.deepcopy(mixed_case)
    nowhere["case_id"], nowhere["tlp"] = "2c5f38cb-3fa1-41d2-883f-0016d3cca427", "red"
    set_ceiling(config, "DE-HOTLINE", "amber+strict")
    gw = await RunningGateway(config_mod.load(config)).start()
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=auth) as http:
            async with http.post(f"{gw.url}/v1/cases", json=[mixed_case, nowhere]) as r:
                assert r.status == 202
            async with http.get(f"{gw.url}/v1/cases/{mixed_case['case_id']}") as r:
                stored = orjson.loads(await r.read())["routing"]
    finally:
        await gw.stop()
    printed = [{k: v for k, v in d.items() if k != "kind"} for i in explained["items"] for d in i["decisions"]]
    assert printed == stored
    events = [orjson.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    (warning,) = [e for e in events if e["event"] == "case.routed_nowhere"]
    assert warning["level"] == "warning" and warning["case_id"] == nowhere["case_id"]
    assert "TLP red above DE-HOTLINE's ceiling amber+strict" in warning["reasons"]
