"""Files and permissions: the store and every secret readable by its owner only.

The store holds reporter data and the private keys sign in our name, so a file that group or others can
read is presumed leaked. The public keyring may be readable, never writable by others.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

from hotline_gateway.config import Config
from hotline_gateway.doctor.findings import Finding, must_fix, ok, warn
from hotline_gateway.transports.base import resolve

CHECK = "files"
#: option names in a partner's table that name secret files (TLS client keys, password files)
SECRET_OPTIONS = ("client_key", "key_file", "password_file", "token_file", "credentials_file",
                  "taxii_password_file")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _private(path: Path, what: str, want: int) -> Finding:
    mode = _mode(path)
    if mode & 0o077:
        return must_fix(CHECK, str(path), f"{what} is {'readable' if mode & 0o044 else 'accessible'} by group or "
                        f"others (mode {mode:04o})", f"chmod {want:o} {path}")
    return ok(CHECK, str(path), f"{what}, mode {mode:04o}")


def _secrets(config: Config) -> Iterator[tuple[Path, str]]:
    gw = config.raw.get("gateway", {})
    for name, what in (("intake_token_file", "intake token"), ("operator_password_file", "operator password hash")):
        if name in gw:
            path = Path(gw[name]) if Path(gw[name]).is_absolute() else config.path.parent / gw[name]
            yield path, what
    for partner in config.partners.values():
        for name in SECRET_OPTIONS:
            value = partner.options.get(name)
            if isinstance(value, str):
                yield resolve(partner, value), f"{partner.id}'s {name}"


def check_files(config: Config) -> list[Finding]:
    found: list[Finding] = []
    mode = _mode(config.path)
    if mode & 0o022:
        found.append(must_fix(CHECK, str(config.path), f"the configuration is writable by others (mode {mode:04o}): "
                              "whoever edits it decides where reports go", f"chmod 640 {config.path}"))
    if "intake_token" in config.raw.get("gateway", {}) and mode & 0o044:
        found.append(must_fix(CHECK, str(config.path), "holds the intake token inline and others can read it",
                              "move it to intake_token_file (mode 0600)"))
    data = config.data_dir
    if config.store_url is not None:
        pass  # the store is PostgreSQL: its files are the database server's, not ours to check
    elif not data.exists():
        found.append(warn(CHECK, str(data), "no store yet: the gateway creates it (folder 0700, files 0600) on start"))
    else:
        found.append(_private(data, "the store's folder", 0o700))
        found += [_private(p, "a store file", 0o600) for p in sorted(data.iterdir()) if p.is_file()]
    keys = config.keys_dir
    if keys.exists():
        if _mode(keys) & 0o022:
            found.append(must_fix(CHECK, str(keys), f"the key folder is writable by others (mode {_mode(keys):04o})",
                                  f"chmod 700 {keys}"))
        found += [_private(p, "a private key", 0o600) for p in sorted(keys.glob("*.key"))]
    for path, what in _secrets(config):
        if path.exists():
            found.append(_private(path, what, 0o600))
        elif path == config.operator_password_file:
            found.append(warn(CHECK, str(path), f"{what}: not set yet, so nobody can sign in to the status page",
                              f"hotline-gateway operator set-password --config {config.path}"))
        else:
            found.append(must_fix(CHECK, str(path), f"{what}: no such file"))
    return found
