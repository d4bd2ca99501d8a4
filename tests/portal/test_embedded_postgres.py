"""The embedded PostgreSQL: shared between processes, one server per data directory,
and it survives processes that die without cleaning up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from portal import embedded_postgres

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from portal import embedded_postgres
connection = embedded_postgres.start(Path(sys.argv[1]))
print((Path(sys.argv[1]) / "pg" / "postmaster.pid").read_text().split()[0], flush=True)
sys.stdin.read()  # hold the server until told to exit
"""


class Holder:
    """A separate process that starts (or joins) the embedded server and holds it."""

    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER.format(root=str(ROOT)), str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.postmaster_pid = int(self.process.stdout.readline())

    def exit(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_until_stopped(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _postmasters_on(pgdata: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"postgres") and str(pgdata).encode() in args:
            found.append(int(entry.name))
    return found


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "data"
    yield directory
    pid_file = directory / "pg" / "postmaster.pid"
    if pid_file.exists():  # never leave a server behind
        pid = int(pid_file.read_text().split()[0])
        if _alive(pid):
            os.kill(pid, signal.SIGINT)
            _wait_until_stopped(pid)


def test_processes_share_one_server_and_the_last_one_stops_it(data_dir: Path) -> None:
    first, second = Holder(data_dir), Holder(data_dir)
    assert first.postmaster_pid == second.postmaster_pid
    assert _postmasters_on(data_dir / "pg") == [first.postmaster_pid]
    first.exit()
    assert _alive(second.postmaster_pid)  # still in use by the second process
    second.exit()
    assert _wait_until_stopped(second.postmaster_pid)


@pytest.mark.parametrize("leftover", ["", "[999999999]", "not json"])
def test_a_killed_process_does_not_break_the_next_start(data_dir: Path, leftover: str) -> None:
    """SIGTERM/SIGKILL skip pgserver's exit hook: the handle list is left empty, or
    listing a dead process. The next process adopts the running server, and when it
    exits the server stops (nobody else holds it)."""
    killed = Holder(data_dir)
    killed.kill()
    handle_file = data_dir / "pg" / ".handle_pids.json"
    handle_file.write_text(leftover)

    successor = Holder(data_dir)
    assert successor.postmaster_pid == killed.postmaster_pid
    assert _postmasters_on(data_dir / "pg") == [killed.postmaster_pid]
    assert json.loads(handle_file.read_text()) == [successor.process.pid]
    successor.exit()
    assert _wait_until_stopped(successor.postmaster_pid)


def test_the_portal_database_is_created_on_first_start(data_dir: Path) -> None:
    holder = Holder(data_dir)
    try:
        connection = embedded_postgres.start(data_dir)
        settings = connection.as_django_settings()
        with psycopg.connect(
            host=str(settings["HOST"]), port=str(settings["PORT"]), user="postgres", dbname="portal"
        ) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("portal",)
    finally:
        holder.exit()


@pytest.mark.skipif(
    embedded_postgres.find_system_binaries() is None, reason="no initdb/pg_ctl on this machine"
)
def test_fallback_to_the_machines_own_binaries(tmp_path: Path) -> None:
    bin_dir = embedded_postgres.find_system_binaries()
    assert bin_dir is not None
    pgdata = tmp_path / "system-pg"
    connection = embedded_postgres.start_with_system_binaries(pgdata, bin_dir, port=5439)
    run_as = "postgres" if os.geteuid() == 0 else None
    try:
        again = embedded_postgres.start_with_system_binaries(pgdata, bin_dir, port=5439)
        assert again == connection
        assert len(_postmasters_on(pgdata)) == 1
        with psycopg.connect(
            host=str(connection.socket_dir),
            port=connection.port,
            user="postgres",
            dbname="postgres",
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        subprocess.run(
            [str(bin_dir / "pg_ctl"), "stop", "-m", "fast", "-D", str(pgdata)],
            check=True,
            capture_output=True,
            user=run_as,
        )


def test_without_any_postgres_the_error_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: None)
    monkeypatch.setattr(embedded_postgres, "find_system_binaries", lambda: None)
    with pytest.raises(embedded_postgres.EmbeddedPostgresUnavailable) as error:
        embedded_postgres.start(tmp_path / "data")
    message = str(error.value)
    assert "DATABASE_URL" in message and "pgserver" in message and "initdb" in message
