"""The operator status page: in a real headless browser (Debian's chromium driven by playwright) an
operator signs in, sees a dead letter with its reason, requeues it; cross-site requeues are refused."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.app import STORE
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import OPERATOR_PASSWORD, write_federation
from tests.engine.federation import cases_hosted_in, submit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def gateway_with_dead_letters(tmp_path: Path) -> Iterator[str]:
    """FR-PDC alone (its partners are down) with a 1 s deadline, so its deliveries become dead letters; retries
    at most 0.2 s apart, so the first one after the deadline comes soon after it."""
    paths = write_federation(tmp_path)
    doc = tomllib.loads(paths["FR-PDC"].read_text(encoding="utf-8"))
    doc["delivery"].update(deadline_s=1.0, base_delay_s=0.05, max_delay_s=0.2)
    paths["FR-PDC"].write_text(tomli_w.dumps(doc), encoding="utf-8")
    loop = asyncio.new_event_loop()
    gw = RunningGateway(config_mod.load(paths["FR-PDC"]))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(gw.start())
        ready.set()
        loop.run_forever()

    async def feed() -> None:
        async with aiohttp.ClientSession() as session:
            await submit(session, gw, cases_hosted_in("DE", 2))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30)
    asyncio.run_coroutine_threadsafe(feed(), loop).result(30)
    deadline = time.monotonic() + 15
    while len(asyncio.run_coroutine_threadsafe(gw.app[STORE].dead_letters(), loop).result(10)) < 2:
        assert time.monotonic() < deadline, "the deliveries never became dead letters"
        time.sleep(0.05)
    yield gw.url
    asyncio.run_coroutine_threadsafe(gw.stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def signed_in(url: str) -> requests.Session:
    session = requests.Session()
    r = session.post(f"{url}/status/login", data={"password": OPERATOR_PASSWORD}, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers[
        "Set-Cookie"]
    return session


def test_the_page_needs_a_sign_in_and_a_wrong_token_is_refused(gateway_with_dead_letters: str) -> None:
    """Unsigned-in, the page sends to the sign-in form and requeue is 401; a wrong token or a sign-in
    posted from another site gets no session."""
    url = gateway_with_dead_letters
    assert requests.get(f"{url}/status", allow_redirects=False, timeout=10).headers["Location"] == "/status/login"
    r = requests.post(f"{url}/status/login", data={"password": "wrong-password-123"}, allow_redirects=False, timeout=10)
    assert r.status_code == 401 and r.headers["Content-Type"].startswith("application/problem+json")
    assert "Set-Cookie" not in r.headers
    r = requests.post(f"{url}/status/login", data={"password": OPERATOR_PASSWORD},
                      headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False, timeout=10)
    assert r.status_code == 403 and r.json()["code"] == "cross_site_refused" and "Set-Cookie" not in r.headers
    r = requests.post(f"{url}/status/requeue", data={"message_id": "x"}, allow_redirects=False, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "not_signed_in"


def test_cross_site_requeues_are_refused_with_403(gateway_with_dead_letters: str) -> None:
    """A signed-in operator's requeue is refused with 403 problem+json when the CSRF token is missing or
    wrong, when the browser says the request is cross-site, or when it comes from another origin;
    nothing is requeued."""
    url = gateway_with_dead_letters
    session = signed_in(url)
    page = session.get(f"{url}/status", timeout=10).text
    csrf = page.split("name='csrf' value='", 1)[1].split("'", 1)[0]
    message_id = page.split("name='message_id' value='", 1)[1].split("'", 1)[0]
    for headers, data in (({}, {}), ({}, {"csrf": "forged"}), ({"Sec-Fetch-Site": "cross-site"}, {"csrf": csrf}),
                          ({"Sec-Fetch-Site": "same-site"}, {"csrf": csrf}),
                          ({"Origin": "https://evil.example.org"}, {"csrf": csrf})):
        r = session.post(f"{url}/status/requeue", data={**data, "message_id": message_id}, headers=headers,
                         allow_redirects=False, timeout=10)
        assert r.status_code == 403 and r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["code"] == "cross_site_refused"
    r = session.post(f"{url}/status/requeue", data={"csrf": csrf}, allow_redirects=False, timeout=10)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "message_id"  # never "requeue everything"
    assert "Dead letters (2)" in session.get(f"{url}/status", timeout=10).text


@pytest.mark.browser
def test_in_a_real_browser_an_operator_sees_the_dead_letter_and_requeues_it(gateway_with_dead_letters: str) -> None:
    """Chromium signs in through the form, shows partners, both dead letters with their reasons and our key;
    clicking Requeue (a real same-origin form post with the CSRF token) requeues exactly that one."""
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (CI installs Debian's chromium); the browser test cannot run")
    from playwright.sync_api import sync_playwright

    url = gateway_with_dead_letters
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        page.goto(f"{url}/status")
        page.fill("input[name=password]", OPERATOR_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#partners")
        assert "DE-HOTLINE" in page.inner_text("#partners")
        reasons = page.inner_text("#dead")
        assert "deadline passed" in reasons and "unreachable" in reasons
        assert page.inner_text("#keys").count("FR-PDC-demo") == 1
        page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)
        page.locator("#dead button").first.click()
        page.wait_for_selector("#notice")
        assert "Requeued 1 dead letter(s)" in page.inner_text("#notice")
        assert "Dead letters (1)" in page.content()
        browser.close()


async def test_a_session_opens_only_the_gateway_that_issued_it(federation: dict[str, RunningGateway]) -> None:
    """Browsers send a host's cookies to every port on it: FR's session cookie must not open DE's page."""
    fr, de = federation["FR-PDC"], federation["DE-HOTLINE"]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fr.url}/status/login", data={"password": OPERATOR_PASSWORD},
                             allow_redirects=False) as r:
            assert r.status == 303
            cookie = r.headers["Set-Cookie"].split(";", 1)[0]
        async with http.get(f"{fr.url}/status", headers={"Cookie": cookie}, allow_redirects=False) as r:
            assert r.status == 200
        async with http.get(f"{de.url}/status", headers={"Cookie": cookie}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/status/login"
