"""The statistics report from a real exchange: its numbers match the store, it opens offline with its
charts and tables, and no reporter data or address appears in it."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from pathlib import Path

import aiohttp
import orjson
import pytest

from gateway.cli.main import main
from gateway.demo import TOKEN, wait_settled
from gateway.model import Case, Reporter, ReporterKind
from gateway.service import RunningGateway
from tests.engine.federation import cases_hosted_in, submit


async def exchange(fr: RunningGateway) -> list[Case]:
    cases = cases_hosted_in("FR", 10, seed=111) + cases_hosted_in("DE", 6, seed=112)
    for n, case in enumerate(cases):
        case.reporter = Reporter(ReporterKind.PERSON, name=f"Zeugin Nummer{n}", email=f"zeugin{n}@mail.test",
                                 phone=f"+49 30 55{n:03d}")
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)
        await wait_settled(fr, 30)
        for case in cases[:4]:  # content removed a few hours after it was reported
            body = {"actions": [{"item_id": str(i.item_id), "type": "content_removed",
                                 "at": "2026-11-25T12:00:00Z"} for i in case.items]}
            async with session.post(f"{fr.url}/v1/cases/{case.case_id}/actions", json=body,
                                    headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                assert r.status == 200
    return cases


def store_truth(db: Path) -> dict[str, object]:
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT category, doc FROM cases").fetchall()
        deliveries = Counter(r[0] for r in c.execute("SELECT partner FROM deliveries WHERE state='delivered'"))
    legal: Counter[str] = Counter()
    removed = 0
    for _, doc in rows:
        for item in orjson.loads(doc)["items"]:
            legal[item["legal_class"]] += 1
            gone = any(a["type"] in ("content_removed", "content_unavailable") for a in item.get("actions", []))
            removed += item["legal_class"] in ("baseline", "national") and gone
    return {"cases": len(rows), "categories": Counter(r[0] for r in rows), "legal": legal, "delivered": deliveries,
            "removed": removed}


async def test_report_numbers_match_the_store_and_it_opens_offline_without_personal_data(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fr = federation["FR-PDC"]
    cases = await exchange(fr)
    truth = store_truth(fr.config.db_path)
    config = str(fed_paths["FR-PDC"])
    out_json, out_html = tmp_path / "report.json", tmp_path / "report.html"
    args = ["report", "--config", config, "--from", "2000-01-01", "--to", "2030-12-31"]
    assert main([*args, "--format", "json", "-o", str(out_json)]) == 0
    assert main([*args, "-o", str(out_html)]) == 0
    figures = orjson.loads(out_json.read_bytes())
    assert figures["cases"] == truth["cases"] == len(cases)
    assert figures["cases_by_category"] == dict(truth["categories"])  # type: ignore[call-overload]
    assert figures["items_by_legal_class"] == dict(truth["legal"])  # type: ignore[call-overload]
    delivered = {p: s.get("delivered", 0) for p, s in figures["deliveries_by_destination"].items()}
    assert delivered == dict(truth["delivered"])  # type: ignore[call-overload]
    assert figures["removed_items"] == truth["removed"]
    assert figures["removed_items"] >= sum(len(c.items) for c in cases[:4])
    assert 0 < figures["removed_within_days"]["7"] <= 1
    html = out_html.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 7 and html.count("<table>") == 7
    assert not re.search(r'(src|href)="(?!data:)', html), "the report must load nothing from anywhere"
    for case in cases:
        reporter = case.reporter
        for secret in (reporter.name, reporter.email, reporter.phone):
            assert secret is not None and secret not in html and secret not in out_json.read_text()
        for item in case.items:
            assert item.url not in html


def test_a_report_with_the_dates_reversed_exits_2(
    fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--config", str(fed_paths["FR-PDC"]), "--from", "2026-12-01", "--to", "2026-11-01"])
    assert code == 2 and "before" in capsys.readouterr().err
