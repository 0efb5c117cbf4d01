"""A throw-away PostgreSQL server for tests, the session-wide ``postgres_url`` fixture and ``database_url``.

:func:`postgres_server` (a context manager usable outside pytest, e.g. to let two
worker processes share one database) runs ``initdb`` in a temporary folder, starts
the server on a free port of 127.0.0.1 with trust authentication, fsync off and
its unix socket inside that folder, waits until it accepts connections, creates a
database and yields ``postgresql://postgres@127.0.0.1:PORT/DBNAME``. On exit the
server is stopped (``pg_ctl stop -m immediate``) and the folder removed.
:func:`fresh_database` adds another empty database to the same server, so tests do
not share state. The ``database_url`` fixture runs a test once per backend: None
(SQLite in the data folder), then a fresh PostgreSQL database.

The binaries are looked up in PATH, then in ``/usr/lib/postgresql/*/bin`` (Debian);
without them the fixture skips. ``initdb`` refuses to run as root, so as root the
server runs as the ``postgres`` system user (via ``runuser``), owning the folder.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

NO_SERVER = "no PostgreSQL server binary (initdb) on this machine"
SYSTEM_USER = "postgres"
"""The system user the server runs as when the tests run as root."""
START_TIMEOUT = 30.0


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` (PATH first, then the newest Debian version), or None."""
    candidates = [shutil.which("initdb")]
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted((p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        candidates += [str(p / "bin" / "initdb") for p in versions]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            folder = Path(candidate).resolve().parent  # /usr/local/bin/initdb may be a link into the real folder
            if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
                return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_url(url: str) -> str:
    """``url`` with the ``postgres`` maintenance database."""
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _create_database(url: str, name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain database name: {name!r}")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # names cannot be parameters; checked above


def fresh_database(url: str, prefix: str = "test") -> str:
    """Create a new empty database on the server of ``url``; its URL (same user, host and port)."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    _create_database(url, name)
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _run(command: list[str], as_user: list[str], **options) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*as_user, *command], check=True, capture_output=True, text=True, **options)


@contextmanager
def postgres_server(dbname: str = "research_test", *, timeout: float = START_TIMEOUT) -> Iterator[str]:
    """Start a throw-away PostgreSQL server; yields ``postgresql://postgres@127.0.0.1:PORT/dbname``.

    Raises :class:`PostgresUnavailable` without server binaries, and RuntimeError
    (with the server's log) if it does not accept connections within ``timeout`` seconds.
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(NO_SERVER)
    as_user = ["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else []
    if as_user:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            raise PostgresUnavailable(f"running as root and there is no {SYSTEM_USER!r} user to run PostgreSQL") from None
    root = Path(tempfile.mkdtemp(prefix="research-pg-", dir="/tmp" if as_user else None))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if as_user:  # the server user must own its folders and reach them
        for path in (root, sockets):
            shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
    started = False
    try:
        for locale in ("C.UTF-8", "C"):  # C.UTF-8: lower() folds non-ASCII letters too
            try:
                _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                      f"--locale={locale}", "--no-sync"], as_user)
                break
            except subprocess.CalledProcessError as exc:
                if locale == "C":
                    raise RuntimeError(f"initdb failed:\n{exc.stdout}\n{exc.stderr}") from exc
        port = _free_port()
        options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {sockets} -c fsync=off -c synchronous_commit=off"
                   " -c full_page_writes=off")
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-W", "start"], as_user)
        started = True
        url = f"postgresql://postgres@127.0.0.1:{port}/{dbname}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(_admin_url(url), connect_timeout=2):
                    break
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    text = log.read_text(errors="replace") if log.exists() else "(no log)"
                    raise RuntimeError(f"PostgreSQL did not start within {timeout:.0f} s ({exc}); its log:\n{text}") from exc
                time.sleep(0.05)
        _create_database(url, dbname)
        yield url
    finally:
        if started:
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "stop", "-m", "immediate"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a database on a PostgreSQL server shared by the whole test session (skips without PostgreSQL).

    Use :func:`fresh_database` on it for a database of your own.
    """
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Each database a store can use: None (SQLite in the data folder), then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return fresh_database(request.getfixturevalue("postgres_url"))
