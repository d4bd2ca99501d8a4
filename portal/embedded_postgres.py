"""Embedded PostgreSQL for development and tests when ``DATABASE_URL`` is not set.

``pgserver`` (a PyPI wheel that ships PostgreSQL 16's binaries) runs the server with its data
under ``.data/pg``, listening on a Unix socket only. pgserver shares it between processes: under
its own inter-process lock (a file lock in the user's runtime directory) it initialises the data
directory, starts the server unless it is running, and registers the process in
``.handle_pids.json``; when a registered process exits, under the same lock, the last one stops
the server. This module adds what pgserver lacks: the repair of that list after a process was
killed (``repair_handle_list``, under pgserver's lock), the portal's database, and a clear error
when pgserver is not installed.

pgserver 0.1.4 has wheels for Python 3.11 and 3.12, every Python the project supports, on Linux
x86_64, macOS (x86_64 and arm64) and Windows. So the machine's own ``initdb``/``pg_ctl`` are no
longer a fallback: that fallback served only Pythons without a pgserver wheel (3.13 and later),
which the project does not support.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import psycopg
from psycopg import sql

DATABASE_NAME = "portal"


class EmbeddedPostgresUnavailable(RuntimeError):
    """pgserver is not installed, so there is no embedded PostgreSQL."""


HELP = (
    "The portal needs PostgreSQL and could not start an embedded one: the `pgserver` package "
    "is not installed. Either install the Python requirements (`pip install -r "
    "requirements.txt` in Python 3.11 or 3.12; pgserver brings its own PostgreSQL binaries), "
    "or point the portal at an existing PostgreSQL 14+ server by setting DATABASE_URL, for "
    "example postgres://user:password@localhost:5432/portal."
)


@dataclass(frozen=True)
class Connection:
    """Where the embedded server listens: a socket directory and a port."""

    socket_dir: Path
    port: int

    def as_django_settings(self, database: str = DATABASE_NAME) -> dict[str, object]:
        return {
            "NAME": database,
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": str(self.socket_dir),
            "PORT": str(self.port),
        }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repair_handle_list(pgdata: Path) -> None:
    """Make pgserver's ``.handle_pids.json`` a list of live processes.

    pgserver rewrites this file on every start and exit; a process killed in between
    leaves it empty (every later start then fails with ``JSONDecodeError``) or listing
    dead processes (so the server is never stopped). Both are repaired here. Call it
    holding pgserver's lock, which every reader and writer of the file holds.
    """
    handle_file = pgdata / ".handle_pids.json"
    if not handle_file.exists():
        return
    try:
        pids = json.loads(handle_file.read_text())
    except json.JSONDecodeError:
        pids = None
    live = (
        [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
        if isinstance(pids, list)
        else []
    )
    if live != pids:
        handle_file.write_text(json.dumps(live))


def _import_pgserver() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp.
            warnings.simplefilter("ignore")
            import pgserver  # noqa: PLC0415 - only without DATABASE_URL
    except ImportError as error:
        raise EmbeddedPostgresUnavailable(HELP) from error
    return pgserver


def _ensure_database(connection: Connection, database: str) -> None:
    with psycopg.connect(
        host=str(connection.socket_dir),
        port=connection.port,
        user="postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def start(data_dir: Path, database: str = DATABASE_NAME) -> Connection:
    """Start the embedded server under ``data_dir`` (or join the one running) and
    make sure ``database`` exists. Raises ``EmbeddedPostgresUnavailable`` saying what to
    do when pgserver is not installed."""
    pgserver = _import_pgserver()
    pgdata = data_dir / "pg"
    data_dir.mkdir(parents=True, exist_ok=True)  # pgserver creates pgdata, not its parents
    lock = pgserver.PostgresServer._lock
    with lock:
        repair_handle_list(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    assert info.socket_dir is not None and info.port is not None
    connection = Connection(socket_dir=info.socket_dir, port=info.port)
    with lock:  # two processes starting at once would both see no database
        _ensure_database(connection, database)
    return connection
