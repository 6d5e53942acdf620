"""The outside judge: ../shared/formats/judge.py, run on files we wrote, many per call, one call per core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

JUDGE = Path(__file__).resolve().parents[3] / "shared" / "formats" / "judge.py"
FORMATS = JUDGE.parent


def judge(fmt: str, documents: list[bytes], folder: Path, suffix: str) -> list[str]:
    """Lines the judge printed for invalid documents (empty when it accepted every one)."""
    files = []
    for n, data in enumerate(documents):
        path = folder / f"doc-{n:05d}{suffix}"
        path.write_bytes(data)
        files.append(path)
    return judge_files(fmt, files)


def judge_files(fmt: str, paths: list[Path]) -> list[str]:
    """judge.py on files as they are, one process per core, each taking its share of the files."""
    files = [str(p) for p in paths]
    workers = max(1, os.cpu_count() or 1)
    chunk = max(1, -(-len(files) // workers))
    procs = [subprocess.Popen([sys.executable, str(JUDGE), fmt, *files[i:i + chunk]], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(0, len(files), chunk)]
    out: list[str] = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=900)
        if proc.returncode not in (0, 1):
            raise AssertionError(f"judge.py failed to run: {stderr}")
        out += [line for line in stdout.splitlines() if line.strip() and not line.startswith("valid")]
    return out
