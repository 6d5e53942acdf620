"""A real PostgreSQL for the tests: the server named by ``HOTLINE_TEST_POSTGRES`` (a URL; CI's ``.ci/run``
starts one), else a throwaway server started here once per session with ``initdb``/``pg_ctl`` when the
binaries are found (as the ``postgres`` user when we are root: the server refuses to run as root). Each
test gets a database of its own, created empty and dropped after. Without either, every PostgreSQL test
is skipped with a message that says so.

The throwaway server runs with ``fsync=off``: it is thrown away, and the tests are about semantics and
concurrency, not the disk (``bench/throughput.py --store`` measures with a real one).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ENV = "HOTLINE_TEST_POSTGRES"
_counter = itertools.count()


@dataclass(frozen=True)
class PgServer:
    """A server we may create databases on; ``url`` is a database to connect to for that."""

    url: str

    def database_url(self, name: str) -> str:
        """The server's URL naming another database (query parameters such as sslmode kept)."""
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))

    def create_database(self) -> tuple[str, str]:
        name = f"hotline_test_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name, self.database_url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Throwaway:
    """initdb + pg_ctl in a temporary folder, on a free loopback port; stopped and removed by ``stop``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no postgres user to run the server as") from None
            self.user = "postgres"
            shutil.chown(self.root, "postgres")

    def _run(self, *argv: str) -> None:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root, timeout=120)

    def start(self) -> PgServer:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        return PgServer(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> tuple[PgServer, Throwaway | None]:
    """The server named by ``HOTLINE_TEST_POSTGRES``, else a throwaway one; skips (saying why) when there
    is neither."""
    url = os.environ.get(ENV)
    if url and not url.startswith(("postgresql://", "postgres://")):
        pytest.fail(f"{ENV} must be a postgresql:// URL (its value is not shown: it may hold a password)")
    if url:
        return PgServer(url), None
    bindir = find_binaries()
    if bindir is None:
        pytest.skip(f"PostgreSQL tests skipped: {ENV} is not set and no PostgreSQL binaries (initdb, pg_ctl) "
                    "were found; set it to a server URL (with CREATE DATABASE rights) or install postgresql")
    try:
        server = Throwaway(bindir)
    except RuntimeError as exc:
        pytest.skip(f"PostgreSQL tests skipped: {ENV} is not set and {exc}")
    try:
        return server.start(), server
    except (subprocess.SubprocessError, OSError) as exc:
        server.stop()
        pytest.skip(f"PostgreSQL tests skipped: {ENV} is not set and a throwaway server did not start ({exc})")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The PostgreSQL server of this test session, or a skip that says why there is none."""
    server, throwaway = start_server()
    try:
        yield server
    finally:
        if throwaway is not None:
            throwaway.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database of this test's own (dropped afterwards)."""
    name, url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(name)
