"""The README's main command: the three-gateway demo reports nothing lost and every receipt verified."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_200_cases_json_reports_lost_0_and_every_receipt_verified() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "demo", "--cases", "200", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    for key in ("submitted", "delivered", "receipts_verified", "duplicates", "lost", "dead_lettered", "elapsed_s"):
        assert key in result
    assert result["submitted"] == 200
    assert result["lost"] == 0
    assert result["dead_lettered"] == 0
    assert result["delivered"] > 0
    assert result["receipts_verified"] == result["delivered"]
    assert result["duplicates"] == 10  # the re-queued messages were suppressed, not stored twice
