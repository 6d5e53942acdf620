"""The report a funder reads: its first-page summary equals independent SQL over the store for a year of exchanges,
an empty period says so instead of drawing axes, a period without removals draws no removal, and both are looked
at in a real browser (Debian's chromium) with screenshots kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway import config as config_mod
from hotline_gateway.cli.main import main
from hotline_gateway.core.model import dump_case
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, wait_settled, write_federation
from hotline_gateway.sim.samples import generate_cases
from tests.engine.federation import cases_hosted_in, submit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
YEAR_END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
ILLEGAL = ("baseline", "national")


async def _year(base: Path) -> Path:
    """FR-PDC exchanging with DE-HOTLINE and FR-POLICE for a year: 4 x 60 generated cases, one batch per quarter."""
    paths = write_federation(base)
    gateways = [await RunningGateway(config_mod.load(p)).start() for p in paths.values()]
    fr = gateways[0]
    try:
        async with aiohttp.ClientSession() as session:
            for quarter in range(4):
                cases = generate_cases(60, seed=100 + quarter, originator="FR-PDC",
                                       now=YEAR_END - timedelta(days=91 * quarter))
                await submit(session, fr, list(cases))
        await wait_settled(fr, 120)
    finally:
        for gw in gateways:
            await gw.stop()
    return paths["FR-PDC"]


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return asyncio.run(_year(tmp_path_factory.mktemp("year")))


def report(config: Path, out: Path, start: str, end: str, fmt: str) -> Path:
    assert main(["report", "--config", str(config), "--from", start, "--to", end, "--format", fmt,
                 "-o", str(out)]) == 0
    return out


def sql_summary(db: Path, kinds: dict[str, str]) -> dict[str, Any]:
    """The funder figures straight from the tables: SQLite's own JSON functions read the stored documents."""
    police = [p for p, k in kinds.items() if k == "law_enforcement"]
    hotlines = [p for p, k in kinds.items() if k == "hotline"]
    with sqlite3.connect(db) as c:
        months = c.execute(
            "SELECT substr(received_at, 1, 7), COUNT(*), SUM(EXISTS (SELECT 1 FROM json_each(doc, '$.items') i"
            " WHERE json_extract(i.value, '$.legal_class') IN ('baseline', 'national'))) FROM cases GROUP BY 1"
            " ORDER BY 1").fetchall()

        def sent(partners: list[str]) -> dict[str, int]:
            marks = ",".join("?" * len(partners))
            return dict(c.execute(
                "SELECT substr(c.received_at, 1, 7), COUNT(DISTINCT c.case_id) FROM cases c JOIN deliveries d"
                f" USING (case_id) WHERE d.state = 'delivered' AND d.partner IN ({marks}) GROUP BY 1",
                partners).fetchall())

        to_police, to_hotlines = sent(police), sent(hotlines)
        items = c.execute("SELECT c.received_at, json_extract(i.value, '$.actions') FROM cases c,"
                          " json_each(c.doc, '$.items') i WHERE json_extract(i.value, '$.legal_class')"
                          " IN ('baseline', 'national')").fetchall()
    hours = []
    for received_at, actions_json in items:
        actions = sorted(orjson.loads(actions_json or "[]"), key=lambda a: a["at"])
        start = next((a["at"] for a in actions if a["type"] in ("sent_to_isp", "sent_to_lea")), received_at)
        gone = next((a["at"] for a in actions if a["type"] in ("content_removed", "content_unavailable")), None)
        if gone is not None:
            took = datetime.fromisoformat(gone.replace("Z", "+00:00")) - datetime.fromisoformat(
                start.replace("Z", "+00:00"))
            hours.append(max(0.0, took.total_seconds() / 3600))
    return {"months": [(m, n, illegal, to_police.get(m, 0), to_hotlines.get(m, 0)) for m, n, illegal in months],
            "illegal_items": len(items), "hours": hours}


def test_the_funder_summary_equals_independent_sql_over_the_store(year: Path, tmp_path: Path) -> None:
    """Reports handled, share illegal, share removed within 1/3/7 days, median time to removal, cases sent to the
    police and to partner hotlines, in total and for each of the twelve-odd months, as SQL on the store says."""
    fig = orjson.loads(report(year, tmp_path / "r.json", "2000-01-01", "2099-12-31", "json").read_bytes())
    kinds = {p.id: p.kind for p in config_mod.load(year).partners.values()}
    truth = sql_summary(year.parent / "data" / "gateway.sqlite3", kinds)
    got = [(m["label"], m["reports"], m["reports_illegal"], m["cases_to_police"], m["cases_to_hotlines"])
           for m in fig["by_month"]]
    assert got == truth["months"] and len(got) >= 12
    s = fig["summary"]
    assert s["reports"] == sum(m[1] for m in truth["months"]) == 240
    assert s["reports_illegal"] == sum(m[2] for m in truth["months"])
    assert s["share_illegal"] == pytest.approx(s["reports_illegal"] / s["reports"], abs=1e-4)
    assert s["cases_to_police"] == sum(m[3] for m in truth["months"]) > 0
    assert s["cases_to_hotlines"] == sum(m[4] for m in truth["months"]) > 0
    assert s["illegal_items"] == truth["illegal_items"]
    for days in (1, 3, 7):
        share = sum(h <= days * 24 for h in truth["hours"]) / truth["illegal_items"]
        assert s["removed_within_days"][str(days)] == pytest.approx(share, abs=1e-4)
    assert s["median_removal_hours"] == pytest.approx(statistics.median(truth["hours"]), abs=1e-3)


def test_an_empty_period_says_so_and_draws_nothing(year: Path, tmp_path: Path) -> None:
    """No case in the period: one sentence, no chart and no table (nothing to misread); JSON has zeros, no shares."""
    html = report(year, tmp_path / "e.html", "1999-01-01", "1999-01-31", "html").read_text()
    assert "No cases were received from 1999-01-01 to 1999-01-31" in unescape(html)
    assert "<img" not in html and "<table" not in html
    fig = orjson.loads(report(year, tmp_path / "e.json", "1999-01-01", "1999-01-31", "json").read_bytes())
    assert fig["cases"] == 0 and fig["summary"]["share_illegal"] is None and fig["by_month"] == []


async def test_a_period_without_removals_shows_no_removal(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """Illegal items delivered to the police but never reported removed: no removal chart or table, a sentence
    instead, and the figures say 0 removed (never a bar for a removal that did not happen)."""
    fr = federation["FR-PDC"]
    cases = cases_hosted_in("FR", 4, seed=9)
    for case in cases:
        for item in case.items:
            item.actions = []
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)
        await wait_settled(fr, 30)
    html = unescape((await asyncio.to_thread(report, fed_paths["FR-PDC"], tmp_path / "n.html", "2000-01-01",
                                             "2099-12-31", "html")).read_text())
    assert "No removal was reported for the period's" in html and "no time to removal to show" in html
    assert 'alt="Time to removal"' not in html and 'alt="Removal of illegal items"' not in html
    assert 'alt="Deliveries by destination"' in html  # what did happen is still drawn


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (CI installs Debian's chromium); the browser test cannot run")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.mark.browser
def test_in_a_browser_the_year_report_opens_on_its_summary_with_every_chart_drawn(
    year: Path, tmp_path: Path, browser: Any
) -> None:
    """Chromium renders the HTML file offline: the summary comes first with the figures of the JSON, every chart
    image decodes, nothing overflows the page width; screenshot kept as test-artifacts/report-year.png."""
    html = report(year, tmp_path / "year.html", "2000-01-01", "2099-12-31", "html")
    fig = orjson.loads(report(year, tmp_path / "year.json", "2000-01-01", "2099-12-31", "json").read_bytes())
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(html.as_uri())
    assert page.locator("section").first.get_attribute("id") == "summary"
    tiles = page.inner_text("#summary .kpis")
    assert f"{fig['summary']['reports']}\nreports handled" in tiles
    assert f"{fig['summary']['cases_to_police']}\ncases sent to the police" in tiles
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert page.evaluate("[...document.images].map(i => i.alt)") == [
        "Reports handled and cases sent on, by month", "Cases and items by category", "Items and cases by legal class",
        "Items and cases by hosting country", "Deliveries by destination", "Removal of illegal items",
        "Time to removal", "Delivery latency by destination"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-year.png"), full_page=True)
    page.close()


@pytest.mark.browser
def test_in_a_browser_the_empty_report_is_one_sentence(year: Path, tmp_path: Path, browser: Any) -> None:
    html = report(year, tmp_path / "empty.html", "1999-01-01", "1999-01-31", "html")
    page = browser.new_page(viewport={"width": 1200, "height": 600})
    page.goto(html.as_uri())
    assert "nothing to report for this period" in page.inner_text("#empty")
    assert page.evaluate("document.images.length") == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-empty.png"), full_page=True)
    page.close()


def test_reports_mention_no_intake_token(year: Path, tmp_path: Path) -> None:
    """The report reads the store only: nothing of the configuration's secrets can reach it."""
    html = report(year, tmp_path / "t.html", "2000-01-01", "2099-12-31", "html").read_text()
    assert TOKEN not in html and "dump_case" not in html and dump_case.__name__ not in html


def test_report_json_switch_gives_the_json_figures_like_every_command(
    year: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--json` is every command's machine-readable switch: for report it means the figures, not HTML."""
    assert main(["report", "--config", str(year), "--from", "2000-01-01", "--to", "2099-12-31", "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["summary"]["reports"] == 240
