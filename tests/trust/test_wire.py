"""Wire-level findings of the security review (issue 9 items 11, 14 and 18): what a signed request means
is decided by our configuration and our label, never by what a client adds around it."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.errors import ConfigError
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import sign_request
from hotline_gateway.crypto.keydir import KeyDirectory, generate
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.pipeline.housekeeping import Housekeeping
from hotline_gateway.service import RunningGateway
from tests.engine.federation import ENVELOPE, cases_hosted_in, message, signed_post, signing_key

Fed = dict[str, RunningGateway]
Paths = dict[str, Path]


def batch(paths: Paths, n: int = 1, seed: int = 31) -> bytes:
    key = signing_key(paths["DE-HOTLINE"].parent)
    return orjson.dumps({"messages": [message(c, key, sender="DE-HOTLINE", recipient="FR-PDC")
                                      for c in cases_hosted_in("FR", n, seed=seed)]})


async def test_the_target_uri_is_our_public_url_not_the_clients_host_header(federation: Fed, fed_paths: Paths) -> None:
    """A request signed for another gateway's address is refused even when the client sends a Host header
    that names it: the signature covers the target URI we are reachable at, as configured."""
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    body = batch(fed_paths)
    elsewhere = "http://gateway.elsewhere.test/v1/messages"
    headers = {"Content-Type": ENVELOPE, "Content-Digest": content_digest(body), "Host": "gateway.elsewhere.test"}
    headers.update(sign_request(method="POST", target_uri=elsewhere, headers=headers, kid=key.kid,
                                private_key=key.private))
    async with aiohttp.ClientSession() as s, s.post(f"{fr.url}/v1/messages", data=body, headers=headers) as r:
        assert r.status == 401 and (await r.json())["code"] == "bad_signature"
    assert await fr.app[SERVICES].store.count("inbound") == 0


async def test_only_our_label_is_verified_when_several_signatures_are_present(
    federation: Fed, fed_paths: Paths,
) -> None:
    """A valid signature by a key that is not the sender's, placed in front under another label, does not
    decide: ``sig1`` is the one we verify, so a request whose ``sig1`` is missing is refused."""
    fr = federation["FR-PDC"]
    de_key = signing_key(fed_paths["DE-HOTLINE"].parent)
    body = batch(fed_paths)
    url = f"{fr.url}/v1/messages"
    headers = {"Content-Type": ENVELOPE, "Content-Digest": content_digest(body)}
    ours = sign_request(method="POST", target_uri=url, headers=headers, kid=de_key.kid, private_key=de_key.private,
                        label="proxy")
    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers={**headers, **ours}) as r:
        assert r.status == 401 and (await r.json())["code"] == "missing_signature"
    both = {"Signature-Input": ours["Signature-Input"], "Signature": ours["Signature"]}
    real = sign_request(method="POST", target_uri=url, headers=headers, kid=de_key.kid, private_key=de_key.private)
    both["Signature-Input"] += ", " + real["Signature-Input"]
    both["Signature"] += ", " + real["Signature"]
    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers={**headers, **both}) as r:
        assert r.status == 202


@pytest.mark.parametrize("where", ["envelope", "payload"])
async def test_a_key_that_appears_twice_in_one_object_is_refused(federation: Fed, fed_paths: Paths, where: str) -> None:
    """``"tlp": "red", "tlp": "clear"`` means red to some parsers and clear to others: refused, 422."""
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    [case] = cases_hosted_in("FR", 1, seed=41)
    msg = message(case, key, sender="DE-HOTLINE", recipient="FR-PDC")
    if where == "payload":
        payload = base64.b64decode(msg["payload"]).replace(b'"tlp":', b'"tlp":"red","tlp":', 1)
        msg = message(case, key, sender="DE-HOTLINE", recipient="FR-PDC", payload=payload)
        body = orjson.dumps({"messages": [msg]})
    else:
        body = orjson.dumps({"messages": [msg]}).replace(b'"type":', b'"type":"case.update","type":', 1)
    async with aiohttp.ClientSession() as s:
        status, _, answer = await signed_post(s, f"{fr.url}/v1/messages", body, key)
    problem = orjson.loads(answer)
    assert status == 422, problem
    assert "appears twice" in orjson.dumps(problem).decode()
    assert await fr.app[SERVICES].store.count("cases") == 0


async def test_a_local_case_with_a_repeated_key_is_refused(federation: Fed) -> None:
    fr = federation["FR-PDC"]
    [case] = cases_hosted_in("FR", 1, seed=42)
    from hotline_gateway.core.model import dump_case

    body = orjson.dumps(dump_case(case)).replace(b'"tlp":', b'"tlp":"red","tlp":', 1)
    headers = {"Authorization": f"Bearer {fr.config.intake_token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as s, s.post(f"{fr.url}/v1/cases", data=body, headers=headers) as r:
        assert r.status == 422 and "appears twice" in (await r.text())


async def test_a_nonce_is_spent_only_once_the_body_matched_its_digest(federation: Fed, fed_paths: Paths) -> None:
    """A request whose body was swapped in transit is refused without burning its nonce, so the genuine
    request, with the same nonce, still goes through; a second use of that nonce is then a replay."""
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    body = batch(fed_paths)
    url = f"{fr.url}/v1/messages"
    created = int(time.time())
    async with aiohttp.ClientSession() as s:
        swapped = await signed_post(s, url, body, key, nonce="n-once", created=created, send_body=body + b" ")
        genuine = await signed_post(s, url, body, key, nonce="n-once", created=created)
        again = await signed_post(s, url, body, key, nonce="n-once", created=created)
    assert swapped[0] == 400 and orjson.loads(swapped[2])["code"] == "digest_mismatch"
    assert genuine[0] == 202
    assert again[0] == 401 and orjson.loads(again[2])["code"] == "replay"


async def test_nonces_that_left_the_replay_window_are_pruned(federation: Fed, fed_paths: Paths) -> None:
    """The nonce table does not grow forever: housekeeping drops nonces older than twice the skew."""
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    old = int(time.time()) - 3 * fr.config.clock_skew_s
    store = fr.app[SERVICES].store
    assert await store.spend_nonce(key.kid, "ancient", old)
    async with aiohttp.ClientSession() as s:
        assert (await signed_post(s, f"{fr.url}/v1/messages", batch(fed_paths), key))[0] == 202
    await Housekeeping(fr.config, store).run_once()
    assert await store.spend_nonce(key.kid, "ancient", old), "the pruned nonce is forgotten"
    import sqlite3

    with sqlite3.connect(fr.config.db_path) as db:
        rows = db.execute("SELECT created FROM nonces").fetchall()
    assert rows and all(created >= int(time.time()) - 2 * fr.config.clock_skew_s for (created,) in rows)


async def test_metrics_labels_come_only_from_known_sets(federation: Fed, fed_paths: Paths) -> None:
    """Resending a stored message under arbitrary format names adds no new metric series."""
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    [case] = cases_hosted_in("FR", 1, seed=43)
    msg = message(case, key, sender="DE-HOTLINE", recipient="FR-PDC")
    url = f"{fr.url}/v1/messages"
    async with aiohttp.ClientSession() as s:
        assert (await signed_post(s, url, orjson.dumps({"messages": [msg]}), key))[0] == 202
        for i in range(20):
            resend = {**msg, "format": f"made-up-{i}"}
            assert (await signed_post(s, url, orjson.dumps({"messages": [resend]}), key))[0] == 202
        async with s.get(f"{fr.url}/metrics") as r:
            text = await r.text()
    assert "made-up" not in text
    assert 'format="other",outcome="duplicate"' in text


def test_a_keyring_listing_another_partners_key_id_is_refused_naming_the_file(tmp_path: Path) -> None:
    generate(tmp_path / "a", "a-1", owner="A")
    generate(tmp_path / "b", "b-1", owner="B")
    a = KeyDirectory.load(tmp_path / "a")
    stolen = tmp_path / "b-keyring.json"
    jwks: dict[str, Any] = KeyDirectory.load(tmp_path / "b").to_jwks()
    jwks["keys"] += a.to_jwks()["keys"]
    stolen.write_bytes(orjson.dumps(jwks))
    (tmp_path / "a.json").write_bytes(orjson.dumps(a.to_jwks()))
    with pytest.raises(ConfigError) as err:
        PartnerKeys({"A": tmp_path / "a.json", "B": stolen})
    assert str(stolen) in err.value.message and "a-1" in err.value.message


async def test_a_keyring_changed_to_list_another_partners_key_keeps_the_last_good_copy(
    federation: Fed, fed_paths: Paths,
) -> None:
    """While FR runs, DE's keyring file is changed to also list FR-POLICE's key id: FR keeps DE's last good
    keyring, keeps accepting DE and FR-POLICE, and an unauthenticated caller learns no partner name."""
    fr = federation["FR-PDC"]
    de_file = next(p.keys for p in fr.config.partners.values() if p.id == "DE-HOTLINE")
    police_file = next(p.keys for p in fr.config.partners.values() if p.id == "FR-POLICE")
    assert de_file is not None and police_file is not None
    jwks = orjson.loads(de_file.read_bytes())
    jwks["keys"] += orjson.loads(police_file.read_bytes())["keys"]
    de_file.write_bytes(orjson.dumps(jwks))
    import os

    os.utime(de_file, (time.time() + 5, time.time() + 5))
    de_key = signing_key(fed_paths["DE-HOTLINE"].parent)
    police_key = signing_key(fed_paths["FR-POLICE"].parent)
    stranger_body = batch(fed_paths, seed=44)
    async with aiohttp.ClientSession() as s:
        assert (await signed_post(s, f"{fr.url}/v1/messages", batch(fed_paths, seed=45), de_key))[0] == 202
        police = [message(c, police_key, sender="FR-POLICE", recipient="FR-PDC")
                  for c in cases_hosted_in("FR", 1, seed=46)]
        assert (await signed_post(s, f"{fr.url}/v1/messages", orjson.dumps({"messages": police}),
                                  police_key))[0] == 202
        generate(Path(str(de_file) + ".stranger"), "stranger-1", owner="X")
        stranger = KeyDirectory.load(Path(str(de_file) + ".stranger")).active_signing_key()
        status, _, answer = await signed_post(s, f"{fr.url}/v1/messages", stranger_body, stranger)
    assert status == 401
    assert b"DE-HOTLINE" not in answer and b"FR-POLICE" not in answer


