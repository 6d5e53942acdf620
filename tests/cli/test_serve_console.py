"""``serve`` on the console: one start-up block naming what an operator must check, and one line, exit 2, no
traceback, for the usual mistakes (port taken, unreadable key, bad config)."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "hotline-gateway"


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """What ``init`` writes, on a port the kernel picked for us just now (0 asks for any free one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([str(CLI), "init", str(tmp_path / "gw"), "--id", "FR-PDC", "--country", "FR",
                           "--port", str(port)], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return tmp_path / "gw" / "config.toml"


def serve(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([str(CLI), "serve", "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_block(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """Lines of stdout up to the block's last line (the status line), within ``timeout``."""
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    def pump() -> None:
        for line in proc.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    text, deadline = "", time.monotonic() + timeout
    while "  status" not in text:
        try:
            text += lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no start-up block within {timeout} s: {text!r}, exit {proc.poll()}") from None
    return text


def one_line_error(config: Path) -> str:
    done = subprocess.run([str(CLI), "serve", "--config", str(config)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


def test_start_up_block_names_address_identity_key_store_and_partners(deployment: Path) -> None:
    """Listening address (and that it is plain HTTP), gateway id, key id with its expiry, the store path, and that
    no partner is configured; SIGTERM then stops it with exit 0."""
    proc = serve(deployment)
    try:
        block = read_block(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0
    assert "FR-PDC (hotline, FR) is running" in block
    assert "listening    http://127.0.0.1:" in block and "plain HTTP: put TLS in front" in block
    assert "signing key  FR-PDC-" in block and "valid until 20" in block
    assert f"store        {deployment.parent / 'data' / 'gateway.sqlite3'}" in block
    assert "partners     none" in block


@pytest.mark.slow
def test_port_in_use_unreadable_key_and_bad_config_are_one_line_exit_2(deployment: Path) -> None:
    """A second gateway on the same port, a private key others can read, and an unknown config key each give
    one line naming what to change."""
    first = serve(deployment)
    try:
        read_block(first)
        assert "address already in use" in one_line_error(deployment)
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(30)
    (key,) = (deployment.parent / "keys").glob("*.key")
    key.chmod(0o644)
    assert f"{key}: private key file has mode 0644" in one_line_error(deployment)
    key.chmod(0o600)
    key_text = key.read_bytes()
    key.write_bytes(b"not a key")
    assert "not a PEM private key" in one_line_error(deployment)
    key.write_bytes(key_text)
    deployment.write_text(deployment.read_text().replace("[delivery]", "[delivery]\nretries = 3"))
    err = one_line_error(deployment)
    assert str(deployment) in err and "'retries' was unexpected" in err
