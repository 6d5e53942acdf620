"""Transports are plug-ins with typed settings (issue 12 item 3), and what the security review asked of
them (issue 9 item 18): a misspelt option or a wrong type is refused when the configuration loads,
naming the file, the partner and the key; plain http is refused but on loopback when allowed; SMTP
requires TLS unless told otherwise; /metrics can require a token."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.adapters import registry
from hotline_gateway.core.errors import TransientDeliveryError, ValidationError
from hotline_gateway.crypto.keydir import generate
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import write_federation
from hotline_gateway.sim.mail_server import MailServer
from hotline_gateway.transports.registry import load
from hotline_gateway.transports.smtp import SmtpTransport
from tests.engine.federation import cases_hosted_in
from tests.support.transports import context
from tests.transports.conftest import make_delivery

#: per transport: a partner block that loads, one misspelt option, one option of the wrong type
TRANSPORTS: dict[str, tuple[dict[str, Any], str, tuple[str, object]]] = {
    "native-http": ({"endpoint": "https://de.example.org/v1/messages", "keys": "k.json"},
                    "allow_insecure_htp", ("allow_insecure_http", "yes")),
    "https": ({"endpoint": "https://police.example.org/evidence", "keys": "k.json"},
              "alow_insecure_http", ("allow_insecure_http", 1)),
    "smtp": ({}, "smtp_hots", ("smtp_port", "25")),
    "iccam-api": ({"endpoint": "https://iccam.example.org"}, "pol_interval_s", ("poll_interval_s", "fast")),
    "cybertip-api": ({"endpoint": "https://report.example.org"}, "usrname", ("username", 42)),
    "filedrop": ({"options": {"directory": "drop"}}, "directry", ("directory", ["drop"])),
    "taxii": ({}, "taxii_pasword", ("taxii_write", "true")),
}


def config_with(tmp_path: Path, transport: str, options: dict[str, Any]) -> Path:
    generate(tmp_path / "keys", "FR-PDC-1", owner="FR-PDC")
    generate(tmp_path / "partner-keys", "P-1", owner="P")
    (tmp_path / "k.json").write_bytes((tmp_path / "partner-keys" / "keyring.json").read_bytes())
    base, _, _ = TRANSPORTS[transport]
    block = {"id": "P", "kind": "hotline", "country": "DE", "transport": transport, "format": "native",
             **{k: v for k, v in base.items() if k != "options"}, "options": {**base.get("options", {}), **options}}
    doc = {"gateway": {"id": "FR-PDC", "country": "FR", "port": 0}, "partners": [block]}
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def serve(path: Path) -> subprocess.CompletedProcess[str]:
    """``serve`` refuses before binding anything: it exits at once."""
    return subprocess.run([sys.executable, "-m", "hotline_gateway.cli.main", "serve", "--config", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_a_misspelt_option_is_refused_at_load_naming_the_key(tmp_path: Path, transport: str) -> None:
    _, typo, _ = TRANSPORTS[transport]
    done = serve(config_with(tmp_path, transport, {typo: "x"}))
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert str(tmp_path / "config.toml") in line and "$.partners[0].options" in line and typo in line, line


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_an_option_of_the_wrong_type_is_refused_at_load_naming_the_key(tmp_path: Path, transport: str) -> None:
    _, _, (key, value) = TRANSPORTS[transport]
    done = serve(config_with(tmp_path, transport, {key: value}))
    assert done.returncode == 2, done.stderr
    assert f"$.partners[0].options.{key}" in done.stderr and "Expected" in done.stderr, done.stderr


@pytest.mark.parametrize(("endpoint", "allow", "refused"), [
    ("http://de.example.org/v1/messages", False, True),
    ("http://de.example.org/v1/messages", True, True),  # allowed for loopback tests only
    ("http://127.0.0.1:9/v1/messages", False, True),
    ("http://127.0.0.1:9/v1/messages", True, False),
    ("https://de.example.org/v1/messages", False, False),
])
def test_plain_http_to_a_partner_is_refused_unless_allowed_on_loopback(
    tmp_path: Path, endpoint: str, allow: bool, refused: bool,
) -> None:
    path = config_with(tmp_path, "native-http", {"allow_insecure_http": True} if allow else {})
    doc = tomllib.loads(path.read_text())
    doc["partners"][0]["endpoint"] = endpoint
    path.write_text(tomli_w.dumps(doc))
    if refused:
        with pytest.raises(ValidationError) as err:
            load(path)
        assert "$.partners[0].endpoint" in err.value.message
    else:
        load(path)


async def test_smtp_requires_tls_by_default_and_a_server_without_it_is_not_used(tmp_path: Path) -> None:
    """The abuse mailbox simulator speaks no TLS: with the default ``tls = "required"`` the notice is not
    sent in clear text (a failed attempt, retried); with ``tls = "none"`` it goes through."""
    mail = await MailServer().start()
    try:
        for tls, sent in (("required", False), ("none", True)):
            options = {"smtp_host": "127.0.0.1", "smtp_port": mail.port, "abuse_contacts": {"*": "abuse@host.test"}}
            if tls != "required":
                options["tls"] = tls
            path = config_with(tmp_path / tls, "smtp", options)
            config = config_mod.load(path)
            transport = SmtpTransport(context(config))
            [case] = cases_hosted_in("FR", 1)
            d = make_delivery(registry.get("native").encode(case), partner="P", fmt="native", transport="smtp",
                              case_id=str(case.case_id))
            before = len(mail.received)
            try:
                [outcome] = await transport.send(config.partner("P"), [d])
                ok = outcome.receipt is not None
            except TransientDeliveryError:
                ok = False
            assert ok is sent and (len(mail.received) > before) is sent, tls
    finally:
        await mail.stop()


async def test_metrics_can_require_a_bearer_token(tmp_path: Path) -> None:
    paths = write_federation(tmp_path)
    (tmp_path / "metrics.token").write_text("scrape-secret-0123456789\n")
    doc = tomllib.loads(paths["FR-PDC"].read_text())
    doc["server"] = {"metrics_token_file": str(tmp_path / "metrics.token")}
    paths["FR-PDC"].write_text(tomli_w.dumps(doc))
    gw = await RunningGateway(config_mod.load(paths["FR-PDC"])).start()
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{gw.url}/metrics") as r:
                assert r.status == 401 and (await r.json())["code"] == "bad_token"
            async with s.get(f"{gw.url}/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"}) as r:
                assert r.status == 200 and "hotline_queue_depth" in await r.text()
    finally:
        await gw.stop()
