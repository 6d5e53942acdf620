"""The README's main command: three gateways plus the network and CyberTipline simulators, nothing lost,
every gateway receipt verified and every API acknowledgement matched by what the simulator holds."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_200_cases_json_reports_lost_0_and_every_receipt_verified() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hotline_gateway.cli.main", "demo", "--cases", "200", "--json"],
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
    assert result["acknowledged"] > 0
    assert result["deliveries"]["INHOPE-ICCAM"] == result["iccam_reports"]
    assert result["deliveries"]["US-NCMEC"] == result["cybertip_reports"] > 0
    assert result["received_from_network"] == 5
    assert result["duplicates"] == 10  # the re-queued messages were suppressed, not stored twice
