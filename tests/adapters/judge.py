"""The outside judge: ../shared/formats/judge.py, run on files we wrote, many per call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

JUDGE = Path(__file__).resolve().parents[3] / "shared" / "formats" / "judge.py"
FORMATS = JUDGE.parent


def judge(fmt: str, documents: list[bytes], folder: Path, suffix: str) -> list[str]:
    """Lines the judge printed for invalid files (empty when it accepted every document)."""
    files = []
    for n, data in enumerate(documents):
        path = folder / f"doc-{n:05d}{suffix}"
        path.write_bytes(data)
        files.append(str(path))
    out: list[str] = []
    for start in range(0, len(files), 500):
        run = subprocess.run([sys.executable, str(JUDGE), fmt, *files[start:start + 500]], capture_output=True,
                             text=True, timeout=600, check=False)
        if run.returncode not in (0, 1):
            raise AssertionError(f"judge.py failed to run: {run.stderr}")
        out += [line for line in run.stdout.splitlines() if line.strip() and not line.startswith("valid")]
    return out
