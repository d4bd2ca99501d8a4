"""Embedded PostgreSQL for development and tests when ``DATABASE_URL`` is not set.

The server keeps its data under ``.data/`` and listens on a Unix socket only. Two
implementations, tried in order:

1. ``pgserver`` (PyPI wheel that ships the PostgreSQL binaries), shared between
   processes: each process registers in ``.handle_pids.json`` and the last one to exit
   stops the server.
2. The machine's own ``initdb``/``pg_ctl`` (Debian's ``postgresql`` package or a PATH
   install); that server is left running and adopted by later processes.

Either way an exclusive file lock is held while the server is checked and started, so
two processes never start two servers on one data directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import pwd
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

DATABASE_NAME = "portal"


class EmbeddedPostgresUnavailable(RuntimeError):
    """No way to run PostgreSQL here: neither pgserver nor initdb/pg_ctl."""


HELP = (
    "The portal needs PostgreSQL and could not start an embedded one. Either install the "
    "Python requirements (`pip install -r requirements.txt`, which brings the `pgserver` "
    "package with its own PostgreSQL binaries, available for Python 3.11 and 3.12), or "
    "install PostgreSQL 14 or newer so that `initdb` and `pg_ctl` are on the PATH (Debian: "
    "`apt-get install postgresql`), or point the portal at an existing server by setting "
    "DATABASE_URL, for example postgres://user:password@localhost:5432/portal."
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


@contextlib.contextmanager
def _exclusive_lock(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "embedded-postgres.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


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
    dead processes (so the server is never stopped). Both are repaired here.
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


def _start_with_pgserver(pgdata: Path) -> Connection:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp.
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415 - optional dependency

    repair_handle_list(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    assert info.socket_dir is not None and info.port is not None
    return Connection(socket_dir=info.socket_dir, port=info.port)


def find_system_binaries() -> Path | None:
    """The directory holding the machine's ``initdb`` and ``pg_ctl``, if any."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if (candidate / "pg_ctl").exists() and (candidate / "initdb").exists():
            return candidate
    return None


def start_with_system_binaries(pgdata: Path, bin_dir: Path, port: int = 5432) -> Connection:
    """Start (or adopt) a server on ``pgdata`` with the machine's own binaries.

    PostgreSQL refuses to run as root, so as root the server runs as the ``postgres``
    system user, which Debian's package creates.
    """
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as error:
            raise EmbeddedPostgresUnavailable(HELP) from error
        run_as = "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        os.chown(pgdata, owner.pw_uid, owner.pw_gid)
        for parent in pgdata.parents:
            parent.chmod(parent.stat().st_mode | 0o011)  # let the server traverse
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
            user=run_as,
        )
    status = subprocess.run(
        [str(bin_dir / "pg_ctl"), "status", "-D", str(pgdata)],
        capture_output=True,
        user=run_as,
        check=False,
    )
    if status.returncode != 0:  # 3: not running; a stale postmaster.pid is handled by pg_ctl
        subprocess.run(
            [
                str(bin_dir / "pg_ctl"),
                "start",
                "-w",
                "-D",
                str(pgdata),
                "-l",
                str(pgdata / "log"),
                "-o",
                f"-h '' -k {pgdata} -p {port}",
            ],
            check=True,
            capture_output=True,
            user=run_as,
            timeout=60,
        )
    return Connection(socket_dir=pgdata, port=port)


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
    make sure ``database`` exists. Raises ``EmbeddedPostgresUnavailable`` with what to
    install when there is no way to run PostgreSQL here."""
    with _exclusive_lock(data_dir):
        if importlib.util.find_spec("pgserver") is None:
            bin_dir = find_system_binaries()
            if bin_dir is None:
                raise EmbeddedPostgresUnavailable(HELP) from None
            connection = start_with_system_binaries(data_dir / "system-pg", bin_dir)
        else:
            connection = _start_with_pgserver(data_dir / "pg")
        _ensure_database(connection, database)
    return connection
