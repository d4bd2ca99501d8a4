"""``python -m portal.launcher`` (what ``make run`` uses to run the web server and a worker):
a SIGTERM or SIGINT stops every command, their own children too; when one command exits,
the others are stopped and the launcher fails. Dummy commands stand in for the two."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")

# Like runserver with its autoreloader: a process with a child of its own. It writes both
# process ids to the file named by its argument, then waits.
DUMMY = """
import os, subprocess, sys, time
child = subprocess.Popen(["sleep", "300"])
with open(sys.argv[1] + ".tmp", "w") as pids:
    pids.write(f"{os.getpid()} {child.pid}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _dummy(tmp_path: Path, name: str) -> tuple[str, Path]:
    script, pid_file = tmp_path / "dummy.py", tmp_path / f"{name}.pids"
    script.write_text(DUMMY)
    return shlex.join([sys.executable, str(script), str(pid_file)]), pid_file


def _pids(pid_file: Path) -> list[int]:
    for _ in range(600):  # until the command has started (at most a minute)
        if pid_file.exists():
            return [int(pid) for pid in pid_file.read_text().split()]
        time.sleep(0.1)
    raise AssertionError(f"{pid_file} was not written")


def _launcher(*commands: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "portal.launcher", *commands], cwd=settings.BASE_DIR
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_every_command_and_their_children(tmp_path: Path, signum: int) -> None:
    (web, web_pids), (worker, worker_pids) = _dummy(tmp_path, "web"), _dummy(tmp_path, "worker")
    launcher = _launcher(web, worker)
    pids = _pids(web_pids) + _pids(worker_pids)
    assert len(pids) == 4 and all(_alive(pid) for pid in pids)
    launcher.send_signal(signum)
    assert launcher.wait(timeout=60) == 0
    assert not any(_alive(pid) for pid in pids)


def test_when_one_command_exits_the_others_are_stopped_and_the_launcher_fails(
    tmp_path: Path,
) -> None:
    web, web_pids = _dummy(tmp_path, "web")
    fails = f"until [ -e {shlex.quote(str(web_pids))} ]; do sleep 0.1; done; exit 3"
    launcher = _launcher(web, shlex.join(["sh", "-c", fails]))
    pids = _pids(web_pids)
    assert launcher.wait(timeout=60) == 3
    assert not any(_alive(pid) for pid in pids)


def test_a_then_command_runs_once_after_the_others_started_and_its_end_stops_nothing(
    tmp_path: Path,
) -> None:
    """``make run``'s demo accounts: printed once the server and worker have started, by a
    command whose end leaves them running."""
    server, server_pids = _dummy(tmp_path, "server")
    said = tmp_path / "said"
    then = shlex.join([sys.executable, "-c", f"open({str(said)!r}, 'w').write('accounts')"])
    launcher = subprocess.Popen(
        [sys.executable, "-m", "portal.launcher", "--then", then, server],
        cwd=settings.BASE_DIR,
    )
    try:
        pids = _pids(server_pids)
        for _ in range(300):  # THEN_AFTER_SECONDS, then the command's own start
            if said.exists():
                break
            time.sleep(0.1)
        assert said.read_text() == "accounts"
        time.sleep(1)
        assert launcher.poll() is None and all(_alive(pid) for pid in pids)
    finally:
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 0
    assert not any(_alive(pid) for pid in pids)
