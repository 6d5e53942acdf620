"""The ready files under docs/ops/ work as shipped: the alert rules pass promtool (or, without it, the rules file's
structure) and, like every Grafana panel, query only metrics a running gateway really exports; the systemd
units verify; the Caddyfile and the nginx site load in Caddy and nginx, and a partner's signed messages reach a
gateway through the nginx site over TLS."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import tomli_w
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hotline_gateway.core.model import dump_case
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, reserve_port, write_federation
from hotline_gateway.sim.tls import TestCA
from tests.engine.federation import cases_hosted_in, submit

OPS = Path(__file__).resolve().parents[2] / "docs" / "ops"
BIN = Path(sys.executable).parent
METRIC = re.compile(r"\b(hotline_[a-z_]+)\b")
DURATION = re.compile(r"^\d+[smhdwy]$")


def tool(name: str) -> str | None:
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name)
                                       if p.is_file()), None)


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((OPS / "prometheus-alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    doc = json.loads((OPS / "grafana-dashboard.json").read_text())
    assert doc["panels"] and all(p["targets"] for p in doc["panels"]), "every panel queries something"
    return [t["expr"] for p in doc["panels"] for t in p["targets"]]


def test_alert_rules_pass_promtool_or_the_rules_file_structure(tmp_path: Path) -> None:
    """With promtool (CI extracts it from Debian's prometheus package) the rules and, as recording rules, the
    dashboard's queries are checked by Prometheus' own parser; without it, the documented rules-file structure."""
    rules = alert_rules()
    assert len(rules) >= 6
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"} and rule["alert"] and rule["expr"]
        assert DURATION.match(rule.get("for", "0s")) and {"summary", "description"} <= set(rule["annotations"])
    promtool = tool("promtool")
    if promtool is None:
        pytest.skip("promtool not installed: checked the rules file's structure only")
    done = subprocess.run([promtool, "check", "rules", str(OPS / "prometheus-alerts.yml")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and "SUCCESS: 7 rules found" in done.stdout, done.stdout + done.stderr
    recording = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query{i}", "expr": e}
                                                              for i, e in enumerate(dashboard_exprs())]}]}
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump(recording))
    done = subprocess.run([promtool, "check", "rules", str(tmp_path / "dashboard.yml")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_every_alert_and_panel_queries_a_metric_the_gateway_exports(
    federation: dict[str, RunningGateway],
) -> None:
    """After a delivery and a refused request, /metrics has a sample of every metric the alert rules and the
    Grafana panels name (histograms by their _bucket series, counters by their _total name)."""
    fr = federation["FR-PDC"]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases_hosted_in("DE", 2))
        async with session.post(f"{fr.url}/v1/messages", data=b"{}", headers={
                "Content-Type": "application/vnd.hotline-gateway.messages+json"}) as r:
            assert r.status == 401  # unsigned: a rejection, counted
        deadline = time.monotonic() + 30
        while True:
            async with session.get(f"{fr.url}/metrics") as r:
                text = await r.text()
            if "hotline_delivery_latency_seconds_bucket" in text:
                break
            assert time.monotonic() < deadline, "no delivery was measured"
            await asyncio.sleep(0.1)
    exported = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    wanted = {m for e in [r["expr"] for r in alert_rules()] + dashboard_exprs() for m in METRIC.findall(e)}
    assert len(wanted) >= 8
    assert wanted <= exported, wanted - exported


@pytest.mark.skipif(tool("systemd-analyze") is None, reason="no systemd-analyze on this machine")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    """systemd's own checker on the gateway unit and the nightly backup service and timer, with the venv of this
    test run in place of /opt/hotline-gateway."""
    names = ["hotline-gateway.service", "hotline-gateway-backup.service", "hotline-gateway-backup.timer"]
    for name in names:
        (tmp_path / name).write_text((OPS / name).read_text().replace("/opt/hotline-gateway/bin", str(BIN)))
    done = subprocess.run([str(tool("systemd-analyze")), "verify", *names], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ExecStart=" in (OPS / names[0]).read_text() and "UMask=0077" in (OPS / names[0]).read_text()


@pytest.mark.skipif(tool("caddy") is None, reason="caddy not installed (CI extracts it from Debian's package)")
def test_the_caddyfile_is_valid_for_caddy() -> None:
    done = subprocess.run([str(tool("caddy")), "validate", "--adapter", "caddyfile", "--config",
                           str(OPS / "Caddyfile")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "Valid configuration" in done.stdout + done.stderr, done.stdout + done.stderr



def nginx_site(tmp_path: Path, listen: int, upstream: int) -> Path:
    """The shipped site with this test's certificate, address and gateway port, in a minimal nginx.conf."""
    ca = TestCA(tmp_path / "pki")
    pair = ca.issue("localhost", server=True)
    site = (OPS / "nginx-hotline-gateway.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/gateway.hotline.example/fullchain.pem", str(pair.cert))
    site = site.replace("/etc/letsencrypt/live/gateway.hotline.example/privkey.pem", str(pair.key))
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{listen} ssl http2;")
    site = site.replace("server 127.0.0.1:8443;", f"server 127.0.0.1:{upstream};")
    (tmp_path / "site.conf").write_text(site)
    temp = tmp_path / "temp"
    temp.mkdir()
    paths = " ".join(f"{k}_temp_path {temp / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
                    f"http {{\naccess_log off;\n{paths}\ninclude {tmp_path / 'site.conf'};\n}}\n")
    (tmp_path / "ca.pem").write_bytes(ca.cert.read_bytes())
    return conf


@pytest.mark.skipif(tool("nginx") is None, reason="nginx not installed (CI extracts it from Debian's package)")
def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    conf = nginx_site(tmp_path, reserve_port(), 8443)
    done = subprocess.run([str(tool("nginx")), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "test is successful" in done.stderr, done.stderr


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """DE-HOTLINE behind the shipped nginx site over TLS (public_url the https address), FR-PDC configured to call
    it there; both gateways run as `hotline-gateway serve`, FR trusting the test CA (SSL_CERT_FILE)."""
    paths = write_federation(tmp_path / "fed")
    ports = {gid: tomllib.loads(p.read_text())["gateway"]["port"] for gid, p in paths.items()}
    tls_port = reserve_port()
    public = f"https://localhost:{tls_port}"
    conf = nginx_site(tmp_path, tls_port, ports["DE-HOTLINE"])
    de_doc = tomllib.loads(paths["DE-HOTLINE"].read_text())
    de_doc["gateway"]["public_url"] = public
    paths["DE-HOTLINE"].write_text(tomli_w.dumps(de_doc))
    fr_doc = tomllib.loads(paths["FR-PDC"].read_text())
    next(p for p in fr_doc["partners"] if p["id"] == "DE-HOTLINE")["endpoint"] = f"{public}/v1/messages"
    paths["FR-PDC"].write_text(tomli_w.dumps(fr_doc))
    env = {**os.environ, "SSL_CERT_FILE": str(tmp_path / "ca.pem")}
    procs = [subprocess.Popen([str(tool("nginx")), "-p", str(tmp_path), "-c", str(conf), "-e", "stderr", "-g",
                               "daemon off;"], stderr=subprocess.PIPE)]
    procs += [subprocess.Popen([str(BIN / "hotline-gateway"), "serve", "--config", str(paths[g])], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for g in ("FR-PDC", "DE-HOTLINE")]
    try:
        for port in (tls_port, ports["FR-PDC"], ports["DE-HOTLINE"]):
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs if p.stderr]
                    assert time.monotonic() < deadline, f"nothing listens on {port}"
                    time.sleep(0.05)
        yield f"http://127.0.0.1:{ports['FR-PDC']}", public, tmp_path / "ca.pem"
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(30)


@pytest.mark.skipif(tool("nginx") is None, reason="nginx not installed (CI extracts it from Debian's package)")
async def test_signed_partner_messages_reach_a_gateway_behind_the_nginx_site_over_tls(
    behind_nginx: tuple[str, str, Path],
) -> None:
    """FR-PDC delivers to https://localhost:PORT/v1/messages; nginx terminates TLS and passes the body as it is;
    DE-HOTLINE checks FR's RFC 9421 signature against its public_url (not the plain-HTTP request it sees) and
    answers with a signed receipt FR verifies. The keys are fetched through the proxy too."""
    fr_url, public, ca = behind_nginx
    cases = cases_hosted_in("DE", 2, seed=31)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fr_url}/v1/cases", data=orjson.dumps([dump_case(c) for c in cases]),
                                headers={**auth, "Content-Type": "application/json"}) as r:
            assert r.status == 202, await r.text()
        deadline = time.monotonic() + 60
        for case in cases:
            while True:
                async with session.get(f"{fr_url}/v1/cases/{case.case_id}", headers=auth) as r:
                    info = await r.json()
                states = {d["partner"]: (d["state"], d["last_error"]) for d in info["deliveries"]}
                if states.get("DE-HOTLINE", ("",))[0] == "delivered":
                    break
                assert time.monotonic() < deadline, states
                await asyncio.sleep(0.1)
            receipt = next(d["receipt"] for d in info["deliveries"] if d["partner"] == "DE-HOTLINE")
            assert receipt["receiver"] == "DE-HOTLINE"
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(f"{public}/.well-known/hotline-gateway/keys", context=context, timeout=10) as r:
        assert json.loads(r.read())["keys"][0]["kid"] == "DE-HOTLINE-demo"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{public}/metrics", context=context, timeout=10)
    assert refused.value.code == 403  # operators' routes only from their network
