"""Start-up cost of the command line: ``--help`` and usage errors load none of the heavy libraries.

Checked by what a fresh interpreter has imported (``sys.modules``), not by timing, so the test is
exact on a loaded machine; the time itself is measured by hand (README, issue 11: under 0.3 s).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: what the commands need but --help must not pay for: each costs tens to hundreds of milliseconds
HEAVY = ("matplotlib", "lxml", "stix2", "stix2patterns", "aiohttp", "jsonschema", "jsonschema_rs", "structlog",
         "cryptography", "joserfc", "tqdm", "prometheus_client", "sqlite3", "hotline_gateway.sim",
         "hotline_gateway.adapters", "hotline_gateway.service", "hotline_gateway.store")

#: modules imported by the command, not by the interpreter's start-up (coverage's .pth, when it measures,
#: imports sqlite3 before the probe runs)
PROBE = """
import json, sys
before = set(sys.modules)
from hotline_gateway.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(set(sys.modules) - before)}))
"""


def imported_by(*argv: str) -> tuple[object, set[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["code"], set(result["modules"])


@pytest.mark.parametrize("argv", [("--help",), ("serve", "--help"), ("report", "--help"), ("keys", "list", "--help"),
                                  ("no-such-command",)],
                         ids=["help", "serve-help", "report-help", "keys-list-help", "usage-error"])
def test_help_and_usage_errors_import_no_heavy_module(argv: tuple[str, ...]) -> None:
    code, modules = imported_by(*argv)
    assert code == (2 if argv == ("no-such-command",) else 0)
    loaded = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert loaded == []


def test_a_command_still_imports_what_it_needs() -> None:
    """The probe is not blind: running ``formats`` does load the adapters (and so lxml)."""
    code, modules = imported_by("formats", "--json")
    assert code == 0
    assert {"hotline_gateway.adapters", "lxml"} <= modules
