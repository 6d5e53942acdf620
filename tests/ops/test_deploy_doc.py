"""docs/deploy.md, followed to the letter: its marked blocks are run as written (bash, in document order) for
three parties on one machine (FR-PDC, its partner hotline DE-HOTLINE, FR-POLICE), set up by nothing but those
blocks and the values the document's own `env` block names. A case submitted as the document says reaches
both partners with verified receipts, and still does after FR rotates its key as the document says.

The only stand-ins: loopback addresses for the example URLs (plain HTTP; TLS in front is tested on its own
with the nginx snippet), and the fingerprint "read over the phone" taken from the partner's `keys fingerprint`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keyimport import KeyInfo
from hotline_gateway.sim.demo import reserve_port

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"<!-- deploy-test: (?P<mark>[^>]*?) -->\n```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)
#: typed at the prompt of `operator set-password` in the test
OPERATOR_PASSWORD = "correct horse battery staple"
FIRST_CASE = "0f8e3c52-6d7a-4b1e-9a42-3c9d2e7b5a10"


@dataclass
class Block:
    mark: str
    lang: str
    body: str

    @property
    def who(self) -> set[str]:
        return set(self.mark.split())


def blocks() -> list[Block]:
    found = [Block(**m.groupdict()) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]
    assert len(found) >= 15, "docs/deploy.md lost its test marks"
    return found


@dataclass
class Party:
    name: str  # fr | de | police
    id: str
    country: str
    root: Path
    port: int = 0
    partners: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return (self.root / "intake.token").read_text().strip()



@pytest.fixture
def parties(tmp_path: Path) -> Iterator[dict[str, Party]]:
    world = {
        "fr": Party("fr", "FR-PDC", "FR", tmp_path / "fr", partners=["de", "police"]),
        "de": Party("de", "DE-HOTLINE", "DE", tmp_path / "de", partners=["fr"]),
        "police": Party("police", "FR-POLICE", "FR", tmp_path / "police", partners=["fr"]),
    }
    for p in world.values():
        p.port = reserve_port()
    yield world
    for p in world.values():
        if p.proc is not None and p.proc.poll() is None:
            p.proc.send_signal(signal.SIGTERM)
            p.proc.wait(30)


def env_of(party: Party, world: dict[str, Party], **extra: str) -> dict[str, str]:
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(party.root.parent),
        "HG_DIR": str(party.root), "HG_ID": party.id, "HG_COUNTRY": party.country, "HG_PORT": str(party.port),
        "HG_PUBLIC_URL": party.url, "DE_URL": world["de"].url, "POLICE_URL": world["police"].url,
        "FR_URL": world["fr"].url, "HG_REHEARSAL": "true", **extra,
    }
    return env


def sh(block: Block, party: Party, world: dict[str, Party], cwd: Path, stdin: str | None = None,
       **extra: str) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.body], env=env_of(party, world, **extra), cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False, input=stdin)
    assert done.returncode == 0, f"{party.id}: block `{block.mark}` failed ({done.returncode}):\n{block.body}\n" \
                                 f"{done.stdout}\n{done.stderr}"
    return done.stdout


def fingerprints(party: Party) -> list[str]:
    """What `keys fingerprint` prints as `read aloud` for each key of the party's exported file."""
    return [KeyInfo.of(e).spoken for e in KeyDirectory.load(party.root / f"{party.id}.jwks").entries()]


def import_keys(block: Block, party: Party, world: dict[str, Party], cwd: Path, only: str | None = None) -> None:
    """The import block for each partner's file, with the fingerprint its operator 'read over the phone': that
    of the partner's newest key (after a rotation the file also holds the previous key, already trusted)."""
    for name in party.partners:
        if only is None or name == only:
            partner = world[name]
            sh(block, party, world, cwd, PARTNER_ID=partner.id, PARTNER_JWKS=str(partner.root / f"{partner.id}.jwks"),
               PARTNER_FP=fingerprints(partner)[-1])


def serve(party: Party, block: Block, world: dict[str, Party], cwd: Path) -> None:
    party.proc = subprocess.Popen(["bash", "-c", "exec " + block.body.strip()], env=env_of(party, world), cwd=cwd,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(party: Party, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert party.proc is not None
        if party.proc.poll() is not None:
            raise AssertionError(f"{party.id} exited: {party.proc.communicate()}")
        try:
            with urllib.request.urlopen(f"{party.url}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{party.id} not ready within {timeout} s"
        time.sleep(0.1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get_case(party: Party, case_id: str) -> dict[str, Any]:
    req = urllib.request.Request(f"{party.url}/v1/cases/{case_id}",
                                 headers={"Authorization": f"Bearer {party.token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        doc: dict[str, Any] = json.loads(r.read())
        return doc


def wait_delivered(fr: Party, case_id: str, partners: set[str], timeout: float = 60) -> dict[str, Any]:
    """Poll FR's view of the case until every named partner's delivery is receipted (or fail at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        case = get_case(fr, case_id)
        states = {d["partner"]: d["state"] for d in case["deliveries"]}
        if all(states.get(p) == "delivered" for p in partners):
            return case
        assert time.monotonic() < deadline, f"not delivered within {timeout} s: {states}; {case['routing']}"
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="the document's first exchange uses curl")
def test_following_deploy_md_delivers_a_receipted_case_to_the_partner_hotline_and_the_police(
    parties: dict[str, Party], tmp_path: Path
) -> None:
    world, fr = parties, parties["fr"]
    work = tmp_path / "work"
    work.mkdir()
    doc_blocks = blocks()
    (env_block,) = [b for b in doc_blocks if b.mark == "env"]
    named = set(re.findall(r"export ((?:[A-Z_]+=\S+\s*)+)", env_block.body))
    variables = {v.split("=")[0] for group in named for v in group.split()}
    assert variables == set(env_of(fr, world)) - {"PATH", "HOME"}, "the env block and the test set other variables"
    skipped = [b.mark for b in doc_blocks if b.mark.startswith("skip")]
    ran: list[str] = []
    for block in doc_blocks:
        if block.mark == "env" or block.mark.startswith("skip"):
            continue
        if block.mark.startswith("file="):
            (work / block.mark.split("=", 1)[1]).write_text(block.body)
        elif block.mark == "import":
            for party in world.values():
                import_keys(block, party, world, work)
        elif block.mark == "serve":
            for party in world.values():
                serve(party, block, world, work)
            for party in world.values():
                wait_ready(party)
        elif block.mark == "fr-after":
            wait_delivered(fr, FIRST_CASE, {"DE-HOTLINE", "FR-POLICE"})
            out = sh(block, fr, world, work)
            if "backup" in block.body:
                assert (fr.root / "backup-first.sqlite3").stat().st_mode & 0o777 == 0o600
            else:
                shown, end = json.JSONDecoder().raw_decode(out)  # curl's JSON, then the status table
                assert {d["partner"] for d in shown["deliveries"]} == {"DE-HOTLINE", "FR-POLICE"}
                table = out[end:].splitlines()
                assert table[0].split()[:4] == ["partner", "queued", "in", "flight"]
                assert {r.split()[0]: r.split()[3] for r in table[2:]} == {"DE-HOTLINE": "1", "FR-POLICE": "1"}
        elif block.mark == "fr-rotate":
            sh(block, fr, world, work)
        elif block.mark == "operator":
            sh(block, fr, world, work, stdin=OPERATOR_PASSWORD + "\n")  # what the operator types at the prompt
            form = urllib.parse.urlencode({"password": OPERATOR_PASSWORD}).encode()
            no_redirects = urllib.request.build_opener(_NoRedirect)
            with pytest.raises(urllib.error.HTTPError) as signed_in:  # the 303 to /status, not followed
                no_redirects.open(urllib.request.Request(f"{fr.url}/status/login", data=form), timeout=10)
            assert signed_in.value.code == 303 and "hg_operator=" in signed_in.value.headers["Set-Cookie"]
        else:
            for name in block.who:
                sh(block, world[name], world, work)
        ran.append(block.mark)
    assert skipped == []
    assert "serve" in ran and "import" in ran and "fr-rotate" in ran

    # What the document promised: the case went to both partners, each receipt verified and naming its receiver.
    case = wait_delivered(fr, FIRST_CASE, {"DE-HOTLINE", "FR-POLICE"})
    for d in case["deliveries"]:
        assert d["state"] == "delivered" and d["receipt"]["receiver"] == d["partner"]
        assert d["receipt"]["payload_sha256"] == d["payload_sha256"]
    assert get_case(world["de"], FIRST_CASE)["origin"] == "FR-PDC"
    assert get_case(world["police"], FIRST_CASE)["origin"] == "FR-PDC"

    # After the rotation block, partners import FR's new file as the document says; the next case reaches them
    # signed with the new key.
    import_block = next(b for b in doc_blocks if b.mark == "import")
    for name in ("de", "police"):
        import_keys(import_block, world[name], world, work, only="fr")
    second = json.loads((work / "first-case.json").read_text())
    second["case_id"] = "1f8e3c52-6d7a-4b1e-9a42-3c9d2e7b5a10"
    (work / "first-case.json").write_text(json.dumps(second))
    submit = next(b for b in doc_blocks if b.mark == "fr" and "POST" in b.body)
    sh(submit, fr, world, work)
    case = wait_delivered(fr, second["case_id"], {"DE-HOTLINE", "FR-POLICE"})
    new_kid = json.loads((fr.root / "FR-PDC.jwks").read_text())["keys"][-1]["kid"]
    assert new_kid.startswith("FR-PDC-") and all(d["receipt"] for d in case["deliveries"])
    de_held = json.loads((world["de"].root / "partners" / "FR-PDC" / "keyring.json").read_text())
    assert new_kid in {k["kid"] for k in de_held["keys"]}

    # The start-up block each gateway printed names its partners.
    for party in world.values():
        assert party.proc is not None
        party.proc.send_signal(signal.SIGTERM)
        out, _ = party.proc.communicate(timeout=30)
        assert party.proc.returncode == 0
        assert f"{party.id} (" in out and all(world[n].id in out for n in party.partners)
