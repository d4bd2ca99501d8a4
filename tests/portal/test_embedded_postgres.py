"""The embedded PostgreSQL: shared between processes, one server per data directory,
and it survives processes that die without cleaning up."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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

    def __init__(self, data_dir: Path, *, wait: bool = True) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER.format(root=str(ROOT)), str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.postmaster_pid = 0
        if wait:
            self.wait_until_holding()

    def wait_until_holding(self) -> int:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the process exited with {self.process.wait(timeout=30)} before holding"
        self.postmaster_pid = int(line)
        return self.postmaster_pid

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
def data_dir() -> Iterator[Path]:
    """A new directory in the system's temporary directory, never the project's .data/.

    Not under pytest's tmp_path: as root, pgserver runs the server as the `pgserver` user and
    opens the directories above the data for it, and every pytest session that starts (another
    one on this machine, say) closes /tmp/pytest-of-root again (mode 700), so the server could
    no longer write its log there.
    """
    top = Path(tempfile.mkdtemp(prefix="portal-embedded-postgres-"))
    directory = top / "data"
    yield directory
    pid_file = directory / "pg" / "postmaster.pid"
    if pid_file.exists():  # never leave a server behind
        pid = int(pid_file.read_text().split()[0])
        if _alive(pid):
            os.kill(pid, signal.SIGINT)
            _wait_until_stopped(pid)
    shutil.rmtree(top, ignore_errors=True)


def test_processes_share_one_server_and_the_last_one_stops_it(data_dir: Path) -> None:
    first, second = Holder(data_dir), Holder(data_dir)
    assert first.postmaster_pid == second.postmaster_pid
    assert _postmasters_on(data_dir / "pg") == [first.postmaster_pid]
    first.exit()
    assert _alive(second.postmaster_pid)  # still in use by the second process
    second.exit()
    assert _wait_until_stopped(second.postmaster_pid)


def test_processes_starting_together_share_one_server(data_dir: Path) -> None:
    """Only pgserver's own lock orders processes that start at the same moment on a new data
    directory: one initdb, one server, one portal database, every process registered."""
    holders = [Holder(data_dir, wait=False) for _ in range(4)]
    postmasters = {holder.wait_until_holding() for holder in holders}
    assert len(postmasters) == 1
    postmaster = postmasters.pop()
    assert _postmasters_on(data_dir / "pg") == [postmaster]
    handle_file = data_dir / "pg" / ".handle_pids.json"
    assert sorted(json.loads(handle_file.read_text())) == sorted(h.process.pid for h in holders)
    for holder in holders[:-1]:
        holder.exit()
        assert _alive(postmaster)  # still in use by the others
    holders[-1].exit()
    assert _wait_until_stopped(postmaster)


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


def test_processes_starting_together_after_a_kill_all_register(data_dir: Path) -> None:
    """The repair of the handle list takes pgserver's lock: a process repairing it never
    overwrites another's registration, so the server stops only after the last of them."""
    killed = Holder(data_dir)
    killed.kill()
    handle_file = data_dir / "pg" / ".handle_pids.json"
    handle_file.write_text("")

    successors = [Holder(data_dir, wait=False) for _ in range(3)]
    assert {s.wait_until_holding() for s in successors} == {killed.postmaster_pid}
    assert sorted(json.loads(handle_file.read_text())) == sorted(s.process.pid for s in successors)
    for successor in successors[:-1]:
        successor.exit()
        assert _alive(killed.postmaster_pid)
    successors[-1].exit()
    assert _wait_until_stopped(killed.postmaster_pid)


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


def test_without_pgserver_the_error_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pgserver", None)  # `import pgserver` fails
    with pytest.raises(embedded_postgres.EmbeddedPostgresUnavailable) as error:
        embedded_postgres.start(tmp_path / "data")
    message = str(error.value)
    assert "DATABASE_URL" in message and "pgserver" in message and "requirements.txt" in message
    assert not (tmp_path / "data").exists()


def test_settings_without_pgserver_or_database_url_say_what_to_do() -> None:
    """What `make run` shows when pgserver is missing; nothing is started under .data/."""
    script = "import sys; sys.modules['pgserver'] = None; import django; django.setup()"
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: "), result.stderr
    assert "DATABASE_URL" in last_line and "requirements.txt" in last_line
