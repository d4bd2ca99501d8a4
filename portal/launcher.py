"""Run long-running commands as one: ``python -m portal.launcher [--then CMD] COMMAND
[COMMAND ...]``, each COMMAND one shell-quoted string. ``make run`` runs the web server and a
worker so. ``--then CMD`` runs one more command, once, ``THEN_AFTER_SECONDS`` after the
others started (``make run``: the demo's accounts, printed after the first burst of output
so that they stay on screen); its end stops nothing.

Each command runs in its own session, hence its own process group: a Ctrl-C in the
terminal reaches only the launcher, which passes it (and a SIGTERM) on to every group,
so the commands' own children (runserver's autoreloader) stop too. When one command
exits by itself, the others are stopped and the launcher exits non-zero. Whatever is
still running ``GRACE_SECONDS`` after the stop is killed. (``worker & runserver`` in a
shell left orphans behind on SIGTERM.)
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from portal import embedded_postgres

GRACE_SECONDS = 10.0
THEN_AFTER_SECONDS = 6.0
POLL_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(child.pid, signum)


def _wait_all(children: list[subprocess.Popen[bytes]], grace: float) -> None:
    """Wait for every child, killing the groups of those still running after ``grace``."""
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()


def _exit_code(returncode: int) -> int:
    """A command's exit code as the launcher's: 128 + the signal that killed it (the
    shell's convention), or 1 if it exited with 0 (none of them is meant to end)."""
    if returncode < 0:
        return 128 - returncode
    return returncode or 1


def run(
    commands: list[list[str]],
    *,
    then: list[str] | None = None,
    then_after: float = THEN_AFTER_SECONDS,
    grace: float = GRACE_SECONDS,
) -> int:
    """Run ``commands`` until a stop signal (exit 0) or until one exits by itself (exit
    non-zero: ``_exit_code``), and ``then`` once, ``then_after`` seconds in."""
    children: list[subprocess.Popen[bytes]] = []
    received: list[int] = []
    follow_up: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        for child in children + follow_up:
            _signal_group(child, signum)

    previous = {signum: signal.signal(signum, forward) for signum in STOP_SIGNALS}
    ended: subprocess.Popen[bytes] | None = None
    try:
        for command in commands:
            children.append(subprocess.Popen(command, start_new_session=True))
        if received:  # a signal came while the commands were starting
            forward(received[-1], None)
        started = time.monotonic()
        while not received and all(child.poll() is None for child in children):
            if then and not follow_up and time.monotonic() - started >= then_after:
                follow_up.append(subprocess.Popen(then, start_new_session=True))
            time.sleep(POLL_SECONDS)
        ended = next((child for child in children if child.returncode is not None), None)
        if not received and ended is not None:
            name = shlex.join(commands[children.index(ended)])
            print(
                f"launcher: {name} exited with {ended.returncode}; stopping the others.",
                file=sys.stderr,
            )
            for child in children + follow_up:
                _signal_group(child, signal.SIGTERM)
        _wait_all(children + follow_up, grace)
    finally:  # also when a command could not be started: none is left behind
        for child in children + follow_up:
            if child.poll() is None:
                _signal_group(child, signal.SIGKILL)
                child.wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received or ended is None or ended.returncode is None:
        return 0
    return _exit_code(ended.returncode)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    # Without DATABASE_URL: the embedded server, started once and held by the launcher for
    # the whole session; the commands it runs inherit its address.
    try:
        embedded_postgres.start_for_environment(Path(__file__).resolve().parent.parent / ".data")
    except embedded_postgres.EmbeddedPostgresUnavailable as error:
        print(error, file=sys.stderr)
        return 2
    then = None
    if argv[0] == "--then" and len(argv) > 2:
        then, argv = shlex.split(argv[1]), argv[2:]
    return run([shlex.split(command) for command in argv], then=then)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
