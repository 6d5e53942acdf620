"""Files the gateway writes hold reporter data, keys or evidence: owner-only, never through a link,
replaced atomically. One helper for each, so no caller gets the modes or the order of steps wrong."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it owner-only, whatever the umask."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)
    return path


def create_private(path: Path) -> None:
    """Create an empty file owner-only if it does not exist yet. SQLite gives its ``-wal`` and ``-shm``
    files the database file's permissions, so creating the database this way (in the call that creates
    it, never a chmod afterwards) keeps the whole store private whatever the umask."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


def restrict(path: Path) -> None:
    """Make an existing file owner-only (SQLite creates its files with the umask's mode)."""
    with contextlib.suppress(FileNotFoundError):
        path.chmod(PRIVATE_FILE)


def readable_by_others(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def open_private(path: Path, mode: str = "w", *, exclusive: bool = False) -> int:
    """A file descriptor for writing ``path`` owner-only, refusing to follow a symbolic link there
    (in a shared folder a planted link would otherwise redirect our write onto another file)."""
    flags = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | (os.O_EXCL if exclusive else 0)
    flags |= os.O_APPEND if mode == "a" else (0 if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return fd


def atomic_write(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> None:
    """Replace ``path`` with ``data`` so that a reader (or a crash) sees the old file or the new one,
    never half of either: write a sibling, sync it, rename it over, sync the folder."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover (or a planted link) is removed, never written through
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
