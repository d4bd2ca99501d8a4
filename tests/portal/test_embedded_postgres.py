"""The embedded PostgreSQL: shared between processes, one server per data directory, and
stopped by the last process to leave it, in whatever order or at whatever instant they exit,
even when some of them die without cleaning up."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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

# `manage.py runserver` as it uses the embedded server: the settings start (or join) it in
# both of Django's autoreloader processes, the parent and the child it runs the server in.
RUNSERVER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from django.utils import autoreload
from portal import embedded_postgres

data_dir = Path(sys.argv[1])
embedded_postgres.start(data_dir)

def serve():  # only in the child, once both processes hold the server
    print((data_dir / "pg" / "postmaster.pid").read_text().split()[0], flush=True)
    time.sleep(300)

autoreload.run_with_reloader(serve)
"""


class Holder:
    """A separate process that starts (or joins) the embedded server and holds it.

    It holds it until its stdin reaches its end: its own pipe, closed by ``exit``, or
    ``release``, the read end of a pipe shared by several holders, so that closing the write
    end makes all of them exit at the same instant.
    """

    def __init__(self, data_dir: Path, *, wait: bool = True, release: int | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER.format(root=str(ROOT)), str(data_dir)],
            stdin=subprocess.PIPE if release is None else release,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.postmaster_pid = 0
        if wait:
            self.wait_until_holding()

    def wait_until_holding(self) -> int:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            _, stderr = self.process.communicate(timeout=30)
            raise AssertionError(f"exited with {self.process.returncode} before holding:\n{stderr}")
        self.postmaster_pid = int(line)
        return self.postmaster_pid

    def exit(self) -> None:
        """Let the process exit (closing its stdin, unless it waits on a shared ``release``)
        and wait for it: it exits with 0 and writes nothing to stderr (no traceback from the
        exit clean-up)."""
        _, stderr = self.process.communicate(timeout=30)
        assert (self.process.returncode, stderr) == (0, "")

    def kill(self, sig: int = signal.SIGKILL, *, reap: bool = True) -> None:
        self.process.send_signal(sig)
        if reap:
            self.process.wait(timeout=30)
        else:  # dead but not waited for: a zombie, whose pid still exists
            _wait_until(lambda: _zombie(self.process.pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def _wait_until(condition: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _wait_until_stopped(pid: int, seconds: float = 15) -> bool:
    return _wait_until(lambda: not _alive(pid), seconds)


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


def _serves(pgdata: Path) -> bool:
    """The server of ``pgdata`` accepts connections to the portal's database."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    port, socket_dir = lines[3], lines[4]
    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="portal") as conn:
        return conn.execute("SELECT 1").fetchone() == (1,)


def _assert_stopped(pgdata: Path, postmaster: int) -> None:
    assert _wait_until_stopped(postmaster), f"the server {postmaster} is still running"
    assert _postmasters_on(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []


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


@pytest.mark.parametrize(
    "first_out", [0, 1], ids=["first-started-exits-first", "last-started-exits-first"]
)
def test_processes_share_one_server_and_the_last_one_out_stops_it(
    data_dir: Path, first_out: int
) -> None:
    holders = [Holder(data_dir), Holder(data_dir)]
    postmaster = holders[0].postmaster_pid
    assert holders[1].postmaster_pid == postmaster
    assert _postmasters_on(data_dir / "pg") == [postmaster]
    holders.pop(first_out).exit()
    assert _serves(data_dir / "pg")  # still in use by the other process
    holders[0].exit()
    _assert_stopped(data_dir / "pg", postmaster)


def test_processes_exiting_at_the_same_instant_stop_the_server(data_dir: Path) -> None:
    """Three processes leave together, again and again (their exits race differently every
    round): the last one out stops the server and none of them fails."""
    for _ in range(3):
        release, let_go = os.pipe()
        holders = [Holder(data_dir, wait=False, release=release) for _ in range(3)]
        os.close(release)
        postmasters = {holder.wait_until_holding() for holder in holders}
        assert len(postmasters) == 1
        os.close(let_go)  # every holder's stdin ends at once
        for holder in holders:
            holder.exit()
        _assert_stopped(data_dir / "pg", postmasters.pop())


@pytest.mark.parametrize(
    ("killed", "reaped"),
    [(0, True), (1, True), (0, False)],
    ids=["first-started-killed", "last-started-killed", "killed-not-yet-reaped"],
)
def test_a_process_killed_without_clean_up_does_not_keep_the_server_running(
    data_dir: Path, killed: int, reaped: bool
) -> None:
    """SIGKILL skips the exit clean-up, so the killed process stays in the handle list: the
    remaining one sees that it is dead (a zombie, not yet waited for by its parent, is dead
    too) and stops the server when it leaves."""
    holders = [Holder(data_dir), Holder(data_dir)]
    postmaster = holders[0].postmaster_pid
    holders.pop(killed).kill(reap=reaped)
    assert _serves(data_dir / "pg")
    holders[0].exit()
    _assert_stopped(data_dir / "pg", postmaster)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_runserver_stopped_by_a_signal_stops_the_server(data_dir: Path, signum: int) -> None:
    """What `make run` does on Ctrl-C (SIGINT) or when stopped (SIGTERM): the signal goes to
    runserver's process group, so both of the autoreloader's processes exit at once, and the
    parent, interrupted while waiting for the child, kills it (SIGKILL) wherever the child is
    in its own exit by then. However that race goes, the server stops and nothing fails."""
    script = data_dir.parent / "runserver.py"
    script.write_text(RUNSERVER.format(root=str(ROOT)))
    for _ in range(3):
        runserver = subprocess.Popen(
            [sys.executable, str(script), str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert runserver.stdout is not None
        postmaster = int(runserver.stdout.readline() or 0)
        assert postmaster, runserver.communicate(timeout=30)[1]
        os.killpg(runserver.pid, signum)
        _, stderr = runserver.communicate(timeout=30)
        assert (runserver.returncode, stderr) == (0, "")
        _assert_stopped(data_dir / "pg", postmaster)


def test_processes_starting_together_share_one_server(data_dir: Path) -> None:
    """Processes that start at the same moment on a new data directory take turns: one
    initdb, one server, one portal database, every process registered."""
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
    """A handle list left empty, unreadable or listing a dead process (as pgserver's own
    exit hook could leave it) does not stop the next process from adopting the running
    server, and when that one exits the server stops (nobody else holds it)."""
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
    """The repair of the handle list is done under the lock every reader and writer of the
    list takes: a process repairing it never overwrites another's registration, so the server
    stops only after the last of them."""
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


def _without_database_url(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_OWNER_URL")}
    return env | {"DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "1", **extra}


# pgserver made unimportable: any attempt to start the embedded server fails loudly.
NO_PGSERVER = "import sys; sys.modules['pgserver'] = None; "


def _without_pgserver(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_PGSERVER + script],
        cwd=ROOT,
        env=_without_database_url(),
        capture_output=True,
        text=True,
        check=False,
    )


def _manage_py(*arguments: str) -> str:
    """``manage.py ARGUMENTS`` as a script, for ``_without_pgserver``."""
    return f"import runpy; sys.argv = ['manage.py', *{list(arguments)!r}]; " + (
        "runpy.run_path('manage.py', run_name='__main__')"
    )


def test_loading_the_settings_starts_no_database() -> None:
    """Without DATABASE_URL, Django sets up (as mypy's plugin and ``pytest --collect-only``
    load the settings) without starting anything: pgserver cannot even be imported here.
    A connection is then refused with what starts the server."""
    result = _without_pgserver(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['HOST']); "
        "from django.db import connection; connection.ensure_connection()"
    )
    assert result.stdout.strip() == embedded_postgres.NOT_STARTED
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"django.core.exceptions.ImproperlyConfigured: {embedded_postgres.NOT_STARTED_HELP}"
    )


def test_a_command_without_pgserver_or_database_url_says_what_to_do() -> None:
    """What `make run` shows when pgserver is missing: manage.py, which starts the server
    for the commands that use the database, says what to do."""
    result = _without_pgserver(_manage_py("showmigrations"))
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.startswith("CommandError: ") and "Traceback" not in message
    assert "DATABASE_URL" in message and "requirements.txt" in message


def test_a_command_without_a_database_starts_none() -> None:
    """``manage.py compilemessages`` (and help, makemessages, collectstatic) need no
    database: with pgserver unimportable it still runs."""
    result = _without_pgserver(_manage_py("help", "compilemessages"))
    assert result.returncode == 0, result.stderr
    assert "compilemessages" in result.stdout
