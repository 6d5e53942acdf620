"""The store's files are private: the folder 0700, the database 0600 from the moment it exists.

SQLite creates the ``-wal`` and ``-shm`` files with the permissions of the database file, so creating
the database file ourselves with mode 0600 (in the call that creates it, never chmod afterwards) keeps
every file of the store unreadable to other users whatever the process umask.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ensure_private_db(path: Path) -> None:
    """Create the store's folder (0700) and an empty database file (0600) if they do not exist yet."""
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)
