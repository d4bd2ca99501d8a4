"""Embedded PostgreSQL for development and tests when ``DATABASE_URL`` is not set.

Loading the settings starts nothing (nor do mypy, ``pytest --collect-only`` or a command that
needs no database): the settings then point at ``NOT_STARTED``, which no connection accepts.
What needs the database starts the server and exports its address as ``DATABASE_URL`` and
``DATABASE_OWNER_URL`` for itself and the processes it starts
(``start_for_environment``): ``manage.py`` for the commands that touch the database, the
launcher of ``make run`` (which holds it for the whole session, so runserver's reloads do
not stop it), gunicorn's master, the benchmarks, and the test suite when its first test
needs the database (tests/conftest.py).

``pgserver`` (a PyPI wheel that ships PostgreSQL 16's binaries) runs the server with its data
under ``.data/pg``, listening on a Unix socket only. It initialises the data directory and
starts the server unless one is running there. Several processes share that server:
``manage.py runserver`` alone is two (Django's autoreloader runs the server in a child process,
and both import the settings, which call ``start``), ``make run`` adds a worker.

The processes holding the server are listed in ``.data/pg/.handle_pids.json`` (pgserver's
file, which its start also writes). pgserver's exit hook, under pgserver's own lock, removes
the exiting process and stops the server if the list was that process alone. That left
PostgreSQL running when processes exit together (issue 12): on a SIGTERM, runserver's parent
kills its child (SIGKILL) while the child may be in its own exit hook; pgserver rewrites the
list in place, so the child could leave it empty (the parent's hook then failed with
``JSONDecodeError``) or still listing the child (the parent then took the dead child for a
holder). So this module replaces that hook with its own (``_leave``), which holds to three
rules:

- one exclusive lock, ``.data/pg.lock``, covers every read and write of the list and the
  start and stop of the server (it is beside the data because initdb wants an empty
  directory); the system releases it when its holder dies, so a killed process blocks nobody;
- the list is written whole to a temporary file renamed over the old one, so a process killed
  at any moment leaves the old list or the new one, never part of one;
- only running processes count (not one killed before its hook ran, nor a zombie): the last
  running process to leave stops the server, in whatever order and at whatever instant they
  exit. A process killed while it is the last holder cannot stop it; the next ``start`` then
  adopts the running server.

pgserver 0.1.4 has wheels for Python 3.11 and 3.12, every Python the project supports, on Linux
x86_64, macOS (x86_64 and arm64) and Windows. So the machine's own ``initdb``/``pg_ctl`` are no
longer a fallback: that fallback served only Pythons without a pgserver wheel (3.13 and later),
which the project does not support.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import psycopg
from psycopg import sql

DATABASE_NAME = "portal"
# The two roles (portal/db/roles.py): the server's superuser owns the schemas and runs the
# migrations; the app connects as a role that owns nothing, made at start-up.
OWNER_ROLE = "postgres"
APP_ROLE = "portal_app"
HANDLE_LIST = ".handle_pids.json"  # pgserver's name for it


# The host the settings name while no process started the embedded server: a connection to
# it is refused, saying what starts it (portal/db/postgresql_backend).
NOT_STARTED = "embedded-postgres-not-started"
NOT_STARTED_HELP = (
    "The embedded PostgreSQL is not started in this process: DATABASE_URL is not set, and "
    "the server is started by manage.py (for commands that use the database), make run, "
    "make serve, make bench and the test suite. Run through one of them, or set "
    "DATABASE_URL."
)


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

    def as_django_settings(
        self, database: str = DATABASE_NAME, user: str = OWNER_ROLE
    ) -> dict[str, object]:
        return {
            "NAME": database,
            "USER": user,
            "PASSWORD": "",
            "HOST": str(self.socket_dir),
            "PORT": str(self.port),
        }


# The data directories whose server this process holds, each with its exit hook registered.
_held: set[Path] = set()


def _handle_list_lock(data_dir: Path) -> contextlib.AbstractContextManager[object]:
    """The exclusive lock on the handle list of the server under ``data_dir``, as a context
    manager. fasteners (installed with pgserver, which uses it for its own lock) takes a
    ``fcntl`` lock on POSIX and an ``msvcrt`` one on Windows."""
    import fasteners  # noqa: PLC0415 - installed with pgserver

    return fasteners.InterProcessLock(str(data_dir / "pg.lock"))


def _running(pid: int) -> bool:
    """``pid`` is a running process: it exists and is not a zombie (a process that has exited
    but that its parent has not collected yet)."""
    import psutil  # noqa: PLC0415 - installed with pgserver

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: it exists
        return True


def _live_holders(pgdata: Path) -> list[int]:
    """The running processes on the handle list. A missing or unreadable list counts as
    empty: this module replaces the list whole, so a broken one was written in place by
    pgserver (the first list of a new data directory) and its writer, the only process on it,
    was killed meanwhile."""
    try:
        pids = json.loads((pgdata / HANDLE_LIST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    if not isinstance(pids, list):
        return []
    return [pid for pid in pids if isinstance(pid, int) and pid > 0 and _running(pid)]


def _write_handle_list(pgdata: Path, pids: list[int]) -> None:
    """Replace the handle list with ``pids`` in one step (a rename), so that a process killed
    meanwhile leaves the old list or the new one, never part of one."""
    handle_list = pgdata / HANDLE_LIST
    new = handle_list.with_name(HANDLE_LIST + ".new")
    new.write_text(json.dumps(pids))
    os.replace(new, handle_list)


def _register(pgdata: Path) -> None:
    """Put this process on the handle list, written anew with the running processes only.
    pgserver's start then finds it there and leaves the list alone. A new data directory has
    no list yet (initdb wants the directory empty): pgserver writes the first one."""
    if not (pgdata / "PG_VERSION").exists():
        return
    holders = _live_holders(pgdata)
    if os.getpid() not in holders:
        holders.append(os.getpid())
    _write_handle_list(pgdata, holders)


def _unregister(pgdata: Path) -> list[int] | None:
    """Take this process off the handle list and return the running processes left on it,
    or ``None`` if this process was not on it (a forked child that inherited the exit hook)."""
    holders = _live_holders(pgdata)
    if os.getpid() not in holders:
        return None
    holders.remove(os.getpid())
    _write_handle_list(pgdata, holders)
    return holders


def _stop_server(pgdata: Path, system_user: str | None) -> None:
    """Stop the server of ``pgdata`` if it is running, as pgserver does: ``pg_ctl stop``
    (fast mode: open connections are closed), waiting until it has stopped."""
    pgserver = _import_pgserver()
    from pgserver.utils import PostmasterInfo  # noqa: PLC0415 - only without DATABASE_URL

    postmaster = PostmasterInfo.read_from_pgdata(pgdata)
    if postmaster is None or not postmaster.is_running():
        return  # it crashed, or was stopped by hand
    # If it fails, pgserver's logger has said why; the server runs on and the next start
    # adopts it.
    with contextlib.suppress(subprocess.CalledProcessError):
        pgserver.pg_ctl(["-w", "stop"], pgdata=pgdata, user=system_user)


def _leave(data_dir: Path, system_user: str | None) -> None:
    """At exit: take this process off the handle list and, if no running process is left on
    it, stop the server. ``start`` registers it in place of pgserver's exit hook."""
    pgdata = data_dir / "pg"
    if not pgdata.is_dir():  # removed, server and all (a test's temporary directory)
        return
    with _handle_list_lock(data_dir):
        if _unregister(pgdata) == []:
            _stop_server(pgdata, system_user)


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
        role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        if not role:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(APP_ROLE)))


def start(data_dir: Path, database: str = DATABASE_NAME) -> Connection:
    """Start the embedded server under ``data_dir`` (or join the one running), make sure
    ``database`` and the app's role (``APP_ROLE``) exist, and hold the server until this
    process exits: the last process to exit stops it. Raises ``EmbeddedPostgresUnavailable``
    saying what to do when pgserver is not installed."""
    pgserver = _import_pgserver()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)  # pgserver creates pgdata, not its parents
    pgdata = data_dir / "pg"
    with _handle_list_lock(data_dir):
        _register(pgdata)
        try:
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
        except BaseException:
            _unregister(pgdata)  # pgserver's exit hook, if registered, then finds nothing to do
            raise
        # pgserver's exit hook rewrites the list in place and counts dead processes: ours
        # replaces it. A second start in this process gets the same server and hook.
        atexit.unregister(server._cleanup)
        if pgdata not in _held:
            _held.add(pgdata)
            atexit.register(_leave, data_dir, server.system_user)
        info = server.get_postmaster_info()
        assert info.socket_dir is not None and info.port is not None
        connection = Connection(socket_dir=info.socket_dir, port=info.port)
        # Under the lock: two processes starting at once would both see no database or role.
        _ensure_database(connection, database)
    return connection


def not_started(user: str, database: str = DATABASE_NAME) -> dict[str, object]:
    """The settings of the embedded server while no process of this run started it."""
    return {"NAME": database, "USER": user, "PASSWORD": "", "HOST": NOT_STARTED, "PORT": ""}


def urls(connection: Connection, database: str = DATABASE_NAME) -> dict[str, str]:
    """``DATABASE_URL`` (the app's role) and ``DATABASE_OWNER_URL`` (the owner's) of the
    server at ``connection``: a socket directory as the host, as libpq takes it."""
    where = f"{database}?host={quote(str(connection.socket_dir), safe='')}&port={connection.port}"
    return {
        "DATABASE_URL": f"postgres://{APP_ROLE}@/{where}",
        "DATABASE_OWNER_URL": f"postgres://{OWNER_ROLE}@/{where}",
    }


def start_for_environment(data_dir: Path) -> Connection | None:
    """Unless ``DATABASE_URL`` is set: start (or join) the server under ``data_dir``, hold it
    until this process exits, and export its address to this process and those it starts.
    Returns the server's address, or None when ``DATABASE_URL`` names another."""
    if os.environ.get("DATABASE_URL"):
        return None
    connection = start(data_dir)
    os.environ.update(urls(connection))
    return connection
