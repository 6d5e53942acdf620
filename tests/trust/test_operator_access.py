"""Operator access to the status page (issue 9 item 15): a credential of its own, stored hashed;
guessing throttled; sign-out; sessions that expire, belong to one gateway and survive a restart; a
Secure cookie whenever the gateway is reached over TLS."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import aiohttp
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import OPERATOR_PASSWORD, TOKEN, write_federation

Fed = dict[str, RunningGateway]


async def sign_in(http: aiohttp.ClientSession, url: str, password: str) -> aiohttp.ClientResponse:
    async with http.post(f"{url}/status/login", data={"password": password}, allow_redirects=False) as r:
        await r.read()
        return r


async def test_the_intake_token_does_not_sign_an_operator_in(federation: Fed) -> None:
    fr = federation["FR-PDC"]
    async with aiohttp.ClientSession() as http:
        r = await sign_in(http, fr.url, TOKEN)
        assert r.status == 401 and "Set-Cookie" not in r.headers


async def test_guessing_is_throttled_even_the_right_password_waits(federation: Fed) -> None:
    fr = federation["FR-PDC"]
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            assert (await sign_in(http, fr.url, "not-the-password-1")).status == 401
        r = await sign_in(http, fr.url, OPERATOR_PASSWORD)
        assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
        async with http.post(f"{fr.url}/status/login", data={"password": "x"}, allow_redirects=False) as again:
            assert (await again.json())["code"] == "too_many_attempts"


async def test_sign_out_ends_the_session_and_needs_its_csrf_token(federation: Fed) -> None:
    fr = federation["FR-PDC"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # cookies of an IP host
        assert (await sign_in(http, fr.url, OPERATOR_PASSWORD)).status == 303
        async with http.get(f"{fr.url}/status", allow_redirects=False) as page:
            html = await page.text()
            assert page.status == 200
        csrf = html.split("name='csrf' value='", 1)[1].split("'", 1)[0]
        async with http.post(f"{fr.url}/status/logout", data={"csrf": "forged"}, allow_redirects=False) as r:
            assert r.status == 403
        async with http.post(f"{fr.url}/status/logout", data={"csrf": csrf}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/status/login"
        async with http.get(f"{fr.url}/status", allow_redirects=False) as page:
            assert page.status == 303


async def test_a_session_survives_a_restart_and_an_expired_one_does_not(fed_paths: dict[str, Path]) -> None:
    fr = await RunningGateway(config_mod.load(fed_paths["FR-PDC"])).start()
    try:
        async with aiohttp.ClientSession() as http:
            r = await sign_in(http, fr.url, OPERATOR_PASSWORD)
            cookie = r.headers["Set-Cookie"].split(";", 1)[0]
            await fr.app[SERVICES].store.add_session(hashlib.sha256(b"old").hexdigest(), "c", time.time() - 1)
    finally:
        await fr.stop()
    fr = await RunningGateway(config_mod.load(fed_paths["FR-PDC"])).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{fr.url}/status", headers={"Cookie": cookie}, allow_redirects=False) as page:
                assert page.status == 200
            async with http.get(f"{fr.url}/status", headers={"Cookie": "hg_operator=old"},
                                allow_redirects=False) as page:
                assert page.status == 303
    finally:
        await fr.stop()


async def test_the_cookie_is_secure_when_the_gateway_is_reached_over_tls(tmp_path: Path) -> None:
    paths = write_federation(tmp_path)
    doc = tomllib.loads(paths["FR-PDC"].read_text())
    doc["gateway"]["public_url"] = "https://gateway.fr-pdc.example.org"
    paths["FR-PDC"].write_text(tomli_w.dumps(doc))
    fr = await RunningGateway(config_mod.load(paths["FR-PDC"])).start()
    try:
        async with aiohttp.ClientSession() as http:
            r = await sign_in(http, fr.url, OPERATOR_PASSWORD)
            assert r.status == 303 and "Secure" in r.headers["Set-Cookie"]
    finally:
        await fr.stop()


def test_set_password_stores_a_scrypt_hash_owner_only_and_refuses_a_weak_one(tmp_path: Path) -> None:
    env = {**os.environ}
    cli = [sys.executable, "-m", "hotline_gateway.cli.main"]
    subprocess.run([*cli, "init", str(tmp_path / "gw")], check=True, capture_output=True, env=env)
    config = tmp_path / "gw" / "config.toml"
    weak = subprocess.run([*cli, "operator", "set-password", "--config", str(config)], input="short\n",
                          capture_output=True, text=True, env=env, check=False)
    assert weak.returncode == 2 and "at least 12" in weak.stderr
    done = subprocess.run([*cli, "operator", "set-password", "--config", str(config)],
                          input="a long operator passphrase\n", capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    stored = tmp_path / "gw" / "operator.scrypt"
    assert stored.read_text().startswith("scrypt$") and "a long operator passphrase" not in stored.read_text()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
