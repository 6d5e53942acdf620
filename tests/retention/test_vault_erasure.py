"""An erased reporter key leaves no trace in the vault's files (issue 11 moved the vault to a write-ahead
log): while the vault is open, after the erasure returns, none of ``reporter-keys.sqlite3`` and its
``-wal``/``-shm`` holds the key's bytes, though the frames written by the put held them; the keys kept
still read back, from this connection and from another process's."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hotline_gateway.store.sqlite.vault import KeyVault


def vault_files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)}


def test_an_erased_key_is_in_none_of_the_vaults_files_and_the_kept_ones_still_read(tmp_path: Path) -> None:
    path = tmp_path / "reporter-keys.sqlite3"
    vault = KeyVault(path)
    erased, kept = os.urandom(32), os.urandom(32)
    others = [(f"case-{n}", os.urandom(32)) for n in range(50)]
    try:
        vault.put([("case-erased", erased), ("case-kept", kept), *others])
        assert any(erased in data for data in vault_files(path).values()), "the put left no trace: nothing tested"
        assert vault.delete(["case-erased"]) == 1
        holding = [name for name, data in vault_files(path).items() if erased in data]
        assert holding == [], f"the erased key's bytes are still in {holding}"
        assert vault.get(["case-erased", "case-kept"]) == {"case-kept": kept}
        with sqlite3.connect(path) as other:  # another process's view: the file alone, checkpointed
            assert dict(other.execute("SELECT case_id, key FROM case_keys WHERE case_id LIKE 'case-%'")) == {
                "case-kept": kept, **dict(others)}
    finally:
        vault.close()


def test_the_vaults_log_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "reporter-keys.sqlite3"
    old = os.umask(0o022)
    try:
        vault = KeyVault(path)
        vault.put([("case-a", os.urandom(32))])
        files = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir() if p.name.startswith(path.name)}
        vault.close()
    finally:
        os.umask(old)
    assert f"{path.name}-wal" in files
    assert all(mode == 0o600 for mode in files.values()), files
