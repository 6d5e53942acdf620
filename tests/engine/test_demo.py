"""The README's main command: three gateways plus the network and CyberTipline simulators, nothing lost,
every gateway receipt verified and every API acknowledgement matched by what the simulator holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


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
    assert result["resent"] == 10 == result["duplicates"]
    assert result["messages"] == sum(result["deliveries"].values()) >= result["delivered"]
    assert result["cases_sent_on"] + result["cases_kept_here"] == result["accepted"] == 200
    assert 0 < result["cases_sent_on"] < result["messages"]  # a case can go to several destinations
    assert result["workdir"] is None


def test_demo_text_speaks_in_cases_and_messages_and_workdir_keeps_the_files(tmp_path: Path) -> None:
    """The summary has a section for cases and one for messages, explains the deliberate resend, and with
    --workdir each gateway's config and SQLite store are left to inspect."""
    proc = subprocess.run(
        [sys.executable, "-m", "hotline_gateway.cli.main", "demo", "--cases", "20", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "\nCases\n" in text and "\nMessages (one per case and destination)\n" in text
    assert "  submitted to FR-PDC          20" in text
    assert "re-sent on purpose" in text and "to prove duplicates are suppressed" in text
    assert f"files kept in {tmp_path}" in text
    for node in ("fr", "de", "police"):
        assert (tmp_path / node / "config.toml").is_file()
        assert (tmp_path / node / "data" / "gateway.sqlite3").is_file()
