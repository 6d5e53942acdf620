"""``doctor`` on real deployments (files on disk, keys made by the CLI, partner gateways running on loopback):
clean, it exits 0; each classic mistake is found, named and exits 1."""

from __future__ import annotations

import asyncio
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from hotline_gateway.cli.main import main
from hotline_gateway.crypto.keydir import KeyDirectory, generate
from hotline_gateway.service import RunningGateway


async def doctor(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["doctor", "--config", str(config), "--json", "--timeout", "3"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def fixes(findings: list[dict[str, Any]], check: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["level"] == "fix" and f["check"] == check]


@pytest.fixture
def fr(fed_paths: dict[str, Path]) -> Path:
    """FR-PDC's config, private (mode 0600) since it holds the intake token inline."""
    config = fed_paths["FR-PDC"]
    config.chmod(0o600)
    return config


def edit(config: Path, change: Any) -> None:
    doc = tomllib.loads(config.read_text())
    change(doc)
    config.write_text(tomli_w.dumps(doc))


async def test_a_sound_deployment_has_nothing_to_fix(
    federation: dict[str, RunningGateway], fr: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Store private, keys valid for a year, both partners up and publishing the keys FR holds, every rule able
    to match, no ceiling holding anything back: exit 0, and the partners were really asked."""
    code, found = await doctor(fr, capsys)
    assert code == 0, [f for f in found if f["level"] == "fix"]
    assert {f["subject"] for f in found if f["check"] == "partners" and f["level"] == "ok"} == {"DE-HOTLINE",
                                                                                                  "FR-POLICE"}


async def test_a_world_readable_store_must_be_fixed(
    federation: dict[str, RunningGateway], fr: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = federation["FR-PDC"].config.db_path
    db.parent.chmod(0o755)
    db.chmod(0o644)
    code, found = await doctor(fr, capsys)
    assert code == 1
    assert {(f["subject"], f["fix"]) for f in fixes(found, "files")} == {
        (str(db.parent), f"chmod 700 {db.parent}"), (str(db), f"chmod 600 {db}")}


async def test_a_signing_key_ending_within_30_days_with_no_successor_must_be_fixed(
    federation: dict[str, RunningGateway], fr: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rotation to a key valid 10 days (the old one cut at once) leaves us 10 days: doctor says rotate."""
    keys = federation["FR-PDC"].config.keys_dir
    assert await asyncio.to_thread(main, ["keys", "rotate", "--dir", str(keys), "--id", "FR-short",
                                          "--valid-days", "10", "--overlap-days", "0"]) == 0
    code, found = await doctor(fr, capsys)
    (finding,) = fixes(found, "keys")
    assert code == 1 and finding["subject"] == "FR-short" and "in 9 day(s)" in finding["message"]
    assert "keys rotate" in finding["fix"]


async def test_an_unreachable_partner_must_be_fixed(
    federation: dict[str, RunningGateway], fr: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await federation["FR-POLICE"].stop()
    code, found = await doctor(fr, capsys)
    (finding,) = fixes(found, "partners")
    assert code == 1 and finding["subject"] == "FR-POLICE" and "unreachable" in finding["message"]


async def test_a_partner_key_mismatch_must_be_fixed(
    federation: dict[str, RunningGateway], fr: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """FR's copy of DE's keys is swapped for another key under DE's key id: the key DE publishes differs."""
    held = federation["FR-PDC"].config.partners["DE-HOTLINE"].keys
    assert held is not None
    (kid,) = [e.kid for e in KeyDirectory.load(held).entries()]
    generate(tmp_path / "impostor", kid, owner="DE-HOTLINE")
    held.write_bytes(json.dumps(KeyDirectory.load(tmp_path / "impostor").to_jwks()).encode())
    code, found = await doctor(fr, capsys)
    (finding,) = fixes(found, "partners")
    assert code == 1 and finding["subject"] == "DE-HOTLINE" and f"key MISMATCH for {kid!r}" in finding["message"]


async def test_a_partner_signing_with_a_key_we_do_not_hold_must_be_fixed(
    federation: dict[str, RunningGateway], fr: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """DE rotated (its gateway reloads the key directory) and publishes DE-next, which FR never imported."""
    de_keys = federation["DE-HOTLINE"].config.keys_dir
    assert await asyncio.to_thread(main, ["keys", "rotate", "--dir", str(de_keys), "--id", "DE-next"]) == 0
    code, found = await doctor(fr, capsys)
    (finding,) = fixes(found, "partners")
    assert code == 1 and "signs with key 'DE-next'" in finding["message"] and "keys import" in finding["fix"]


def test_a_rule_that_can_never_match_and_a_ceiling_that_blocks_everything_must_be_fixed(
    fr: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A final catch-all for CSAM ahead of a CSAM-to-police rule shadows it; DE's ceiling `clear` blocks every
    sample CSAM case (the generator marks none of them clear). Offline: routing needs no network."""
    def change(doc: dict[str, Any]) -> None:
        doc["routes"] = [{"name": "all-csam-to-de", "category": ["csam"], "to": ["DE-HOTLINE"], "final": True},
                         {"name": "baseline-csam-to-police", "category": ["csam"], "legal_class": ["baseline"],
                          "to": ["@police"]},
                         {"name": "hate-to-police", "category": ["hate"], "to": ["@police"]}]
        next(p for p in doc["partners"] if p["id"] == "DE-HOTLINE")["tlp_max"] = "clear"

    edit(fr, change)
    code = main(["doctor", "--config", str(fr), "--json", "--offline"])
    found = json.loads(capsys.readouterr().out)["findings"]
    routing = {f["subject"]: f["message"] for f in fixes(found, "routing")}
    assert code == 1 and set(routing) == {"baseline-csam-to-police", "DE-HOTLINE"}
    assert "stopped earlier by final rule(s) all-csam-to-de" in routing["baseline-csam-to-police"]
    assert "TLP ceiling clear blocks every sample case" in routing["DE-HOTLINE"]
    assert main(["doctor", "--config", str(fr), "--offline"]) == 1
    text = capsys.readouterr().out
    assert "FIX   routing   baseline-csam-to-police: this rule can never match" in text and "fix: " in text
