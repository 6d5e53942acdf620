"""``filedrop``: signed files in a folder for an air-gapped partner — each message whole or not at all,
its payload verifiable with our published keys, a resend changing nothing."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import orjson
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.adapters import registry
from hotline_gateway.crypto.jws import verify_detached
from hotline_gateway.crypto.keydir import KeyDirectory, generate
from hotline_gateway.pipeline.sign import sign_payload
from hotline_gateway.transports.filedrop import FiledropTransport
from tests.engine.federation import cases_hosted_in
from tests.support.transports import context
from tests.transports.conftest import make_delivery


async def test_each_message_lands_as_payload_signature_and_manifest_owner_only(tmp_path: Path) -> None:
    generate(tmp_path / "keys", "FR-PDC-1", owner="FR-PDC")
    doc = {"gateway": {"id": "FR-PDC", "country": "FR", "keys_dir": "keys"},
           "partners": [{"id": "FR-POLICE-OFFLINE", "kind": "law_enforcement", "country": "FR",
                         "transport": "filedrop", "format": "iodef", "options": {"directory": "outbox/police"}}]}
    (tmp_path / "config.toml").write_text(tomli_w.dumps(doc))
    config = config_mod.load(tmp_path / "config.toml")
    keys = KeyDirectory.load(tmp_path / "keys")
    transport = FiledropTransport(context(config))
    deliveries = []
    for case in cases_hosted_in("FR", 2):
        payload = registry.get("iodef").encode(case)
        d = make_delivery(payload, partner="FR-POLICE-OFFLINE", fmt="iodef", transport="filedrop",
                          case_id=str(case.case_id))
        d.signature = sign_payload(payload, keys.active_signing_key())
        deliveries.append(d)
    partner = config.partner("FR-POLICE-OFFLINE")
    outcomes = await transport.send(partner, deliveries)
    assert all(o.receipt is not None for o in outcomes)
    folder = tmp_path / "outbox" / "police"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for d in deliveries:
        manifest = orjson.loads((folder / f"{d.message_id}.manifest.json").read_bytes())
        payload = (folder / manifest["payload"]).read_bytes()
        assert hashlib.sha256(payload).hexdigest() == manifest["payload_sha256"] == d.payload_sha256
        verify_detached(payload, (folder / manifest["signature"]).read_text(), keys)
        assert manifest["media_type"] == registry.get("iodef").media_type and manifest["format"] == "iodef"
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 6 and not any(name.startswith(".") for name in files), files
    assert all(stat.S_IMODE((folder / n).stat().st_mode) == 0o600 for n in files)
    before = {n: (folder / n).read_bytes() for n in files}
    again = await transport.send(partner, deliveries)
    assert all(o.receipt is not None for o in again)
    assert {n: (folder / n).read_bytes() for n in sorted(p.name for p in folder.iterdir())} == before
