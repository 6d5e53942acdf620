"""The statistics report from a real exchange: its numbers match the store (read with SQL here, independently
of the report's code), it opens offline with its charts and tables, and no reporter data or address appears."""

from __future__ import annotations

import asyncio
import base64
import re
import sqlite3
import statistics
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway.cli.main import main
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, run_demo, wait_settled
from hotline_gateway.store.sqlite import SqliteStore
from tests.engine.federation import cases_hosted_in, submit

ALL_TIME = ["--from", "2000-01-01", "--to", "2099-12-31"]
ILLEGAL = ("baseline", "national")
NOTICE = ("sent_to_isp", "sent_to_lea")
GONE = ("content_removed", "content_unavailable")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FR-PDC config of a finished demo run (80 generated cases with reporters, deliveries, removals)."""
    base = tmp_path_factory.mktemp("demo")
    result = asyncio.run(run_demo(80, seed=4242, workdir=base))
    assert result.ok
    return base / "fr" / "config.toml"


def db_of(config: Path) -> Path:
    return config.parent / "data" / "gateway.sqlite3"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def store_truth(db: Path, lo: str = "0000", hi: str = "9999") -> dict[str, Any]:
    """The report's figures recomputed straight from the tables (cases received in [lo, hi))."""
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT category, received_at, doc FROM cases WHERE received_at >= ? AND received_at < ?",
                         (lo, hi)).fetchall()
        deliveries = c.execute("SELECT d.partner, d.state, d.delivered_at - d.created_at FROM deliveries d JOIN "
                               "cases c USING (case_id) WHERE c.received_at >= ? AND c.received_at < ?",
                               (lo, hi)).fetchall()
    t: dict[str, Any] = {"cases": len(rows), "categories": Counter(r[0] for r in rows), "cat_items": Counter(),
                         "legal": Counter(), "legal_cases": Counter(), "countries": Counter(), "illegal": 0,
                         "hours": []}
    for category, received_at, doc in rows:
        items = orjson.loads(doc)["items"]
        t["cat_items"][category] += len(items)
        t["legal_cases"].update({i["legal_class"] for i in items})
        for item in items:
            t["legal"][item["legal_class"]] += 1
            t["countries"][item.get("assigned_country") or item.get("hosting", {}).get("country") or "unknown"] += 1
            if item["legal_class"] not in ILLEGAL:
                continue
            t["illegal"] += 1
            actions = sorted(item.get("actions", []), key=lambda a: when(a["at"]))
            start = next((a["at"] for a in actions if a["type"] in NOTICE), received_at)
            gone = next((a["at"] for a in actions if a["type"] in GONE), None)
            if gone is not None:
                t["hours"].append(max(timedelta(0), when(gone) - when(start)).total_seconds() / 3600)
    t["delivered"] = Counter(p for p, state, _ in deliveries if state == "delivered")
    t["latency"] = {p: sorted(max(0.0, s) for q, _, s in deliveries if q == p and s is not None)
                    for p in t["delivered"]}
    return t


class Resources(HTMLParser):
    """Every tag name and every attribute that could make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action", "data", "poster")]


def test_report_numbers_match_the_store(demo: Path, tmp_path: Path) -> None:
    """Counts by category, legal class and hosting country, deliveries by destination, removal shares and the
    time-to-removal distribution, and delivery latency per partner all equal what SQL on the store says."""
    out = tmp_path / "report.json"
    assert main(["report", "--config", str(demo), *ALL_TIME, "--format", "json", "-o", str(out)]) == 0
    fig = orjson.loads(out.read_bytes())
    t = store_truth(db_of(demo))
    assert fig["cases"] == t["cases"] >= 80 and fig["items"] == sum(t["legal"].values())
    assert fig["cases_by_category"] == dict(t["categories"]) and fig["items_by_category"] == dict(t["cat_items"])
    assert fig["items_by_legal_class"] == dict(t["legal"]) and fig["cases_by_legal_class"] == dict(t["legal_cases"])
    assert fig["items_by_hosting_country"] == dict(t["countries"])
    assert {p: s["delivered"] for p, s in fig["deliveries_by_destination"].items()} == dict(t["delivered"])
    assert len(t["delivered"]) >= 3  # the demo reaches a partner hotline, the police and the simulated APIs
    assert fig["illegal_items"] == t["illegal"] and fig["removed_items"] == len(t["hours"]) > 0
    for days in ("1", "3", "7"):
        within = sum(1 for h in t["hours"] if h <= int(days) * 24)
        assert fig["removed_within_days_items"][days] == within
        assert fig["removed_within_days"][days] == pytest.approx(within / t["illegal"], abs=1e-4)
    ttr = fig["time_to_removal"]
    assert sum(ttr["buckets"].values()) == ttr["count"] == len(t["hours"])
    assert ttr["median_hours"] == pytest.approx(statistics.median(t["hours"]), abs=1e-3)
    assert ttr["buckets"]["> 7 days"] == sum(1 for h in t["hours"] if h > 168)
    for partner, values in t["latency"].items():
        got = fig["delivery_latency_s"][partner]
        assert got["count"] == len(values) and got["max"] == pytest.approx(values[-1], abs=1e-3)
        assert got["median"] == pytest.approx(statistics.median(values), abs=1e-3)


def test_the_html_report_opens_offline_with_every_chart_and_table(demo: Path, tmp_path: Path) -> None:
    """Run as a command: one HTML file whose eight charts are inline PNGs, each with its table, and which refers
    to nothing outside itself (no script, stylesheet link, frame or URL of any kind)."""
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "hotline_gateway.cli.main", "report", "--config", str(demo), *ALL_TIME,
                           "-o", str(out)], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    parsed = Resources()
    parsed.feed(html)
    assert parsed.tags["img"] == 8 and parsed.tags["table"] == 8  # the monthly summary, then seven figures
    assert all(link.startswith("data:image/png;base64,") for link in parsed.links), parsed.links
    for link in parsed.links:
        assert base64.b64decode(link.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(parsed.tags)
    # the images' base64 is left out: a long enough one spells "http" in some case by chance
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert "http" not in text.lower() and "url(" not in text and "@import" not in text


def test_no_reporter_data_or_address_appears_in_html_or_json(demo: Path, tmp_path: Path) -> None:
    """The stored cases carry reporters' names, e-mails, phones and references and the items' URLs; none of
    those strings appears in either output."""
    with sqlite3.connect(db_of(demo)) as c:
        docs = [orjson.loads(d) for (d,) in c.execute("SELECT doc FROM cases")]

    async def reporters() -> list[dict[str, Any]]:
        """Reporters are stored sealed: the store opens them with their cases' keys."""
        store = await SqliteStore.open(db_of(demo), recover=False)
        try:
            return [r for d in docs if (r := await store.case_reporter(d["case_id"])) is not None]
        finally:
            await store.close()

    secrets = {v for r in asyncio.run(reporters()) for k, v in r.items() if k in ("name", "email", "phone", "ref")}
    urls = {i["url"] for d in docs for i in d["items"]}
    assert sum("@" in s for s in secrets) >= 5, "the demo should have stored reporters with e-mail addresses"
    outputs = []
    for fmt in ("json", "html"):
        out = tmp_path / f"report.{fmt}"
        assert main(["report", "--config", str(demo), *ALL_TIME, "--format", fmt, "-o", str(out)]) == 0
        outputs.append(out.read_text(encoding="utf-8"))
    for text in outputs:
        leaked = [s for s in secrets | urls if s in text]
        assert not leaked, leaked[:3]
        assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "no e-mail address of any kind"


def test_the_period_selects_cases_by_the_day_they_were_received(demo: Path, tmp_path: Path) -> None:
    """--from and --to are UTC days, both included: the report counts exactly the cases SQL finds in that span."""
    with sqlite3.connect(db_of(demo)) as c:
        days = sorted({r[0][:10] for r in c.execute("SELECT received_at FROM cases")})
    start, end = days[len(days) // 4], days[len(days) // 2]
    out = tmp_path / "period.json"
    assert main(["report", "--config", str(demo), "--from", start, "--to", end, "--format", "json",
                 "-o", str(out)]) == 0
    fig = orjson.loads(out.read_bytes())
    next_day = (datetime.fromisoformat(end) + timedelta(days=1)).date().isoformat()
    t = store_truth(db_of(demo), start, next_day)
    assert 0 < fig["cases"] == t["cases"] < store_truth(db_of(demo))["cases"]
    assert fig["items_by_legal_class"] == dict(t["legal"])
    assert (fig["period_from"], fig["period_to"]) == (start, end)


async def test_a_removal_posted_after_intake_is_counted(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """Removals the case system reports through POST /v1/cases/{id}/actions after intake reach the figures: those
    items count as removed, and the distribution agrees with the store's action history."""
    fr = federation["FR-PDC"]
    cases = cases_hosted_in("FR", 6, seed=111)
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)
        await wait_settled(fr, 30)
        gone_at = format_timestamp(datetime.now(UTC).replace(microsecond=0) + timedelta(hours=5))
        for case in cases[:3]:
            body = {"actions": [{"item_id": str(i.item_id), "type": "content_removed", "at": gone_at}
                                for i in case.items]}
            async with session.post(f"{fr.url}/v1/cases/{case.case_id}/actions", json=body,
                                    headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                assert r.status == 200
    out = tmp_path / "report.json"
    assert main(["report", "--config", str(fed_paths["FR-PDC"]), *ALL_TIME, "--format", "json", "-o", str(out)]) == 0
    fig = orjson.loads(out.read_bytes())
    t = store_truth(fr.config.db_path)
    removed = sum(1 for c in cases[:3] for i in c.items if i.legal_class.value in ILLEGAL)
    assert fig["removed_items"] == len(t["hours"]) >= removed > 0
    assert fig["time_to_removal"]["buckets"] == {
        "<= 1 h": sum(h <= 1 for h in t["hours"]), "1-6 h": sum(1 < h <= 6 for h in t["hours"]),
        "6-24 h": sum(6 < h <= 24 for h in t["hours"]), "1-3 days": sum(24 < h <= 72 for h in t["hours"]),
        "3-7 days": sum(72 < h <= 168 for h in t["hours"]), "> 7 days": sum(h > 168 for h in t["hours"])}


def test_a_report_with_the_dates_reversed_or_malformed_exits_2(
    fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad periods are usage errors: one line on stderr, exit 2."""
    config = str(fed_paths["FR-PDC"])
    assert main(["report", "--config", config, "--from", "2026-12-01", "--to", "2026-11-01"]) == 2
    assert "before" in capsys.readouterr().err
    assert main(["report", "--config", config, "--from", "2026-13-01", "--to", "2026-12-01"]) == 2
    assert "not a date" in capsys.readouterr().err
