"""Deploy migrations across organisations' schemas.

The schemas not at the latest migration state are found with one query
(``state.organisation_schemas``); the others are skipped without a look inside. Each of
the rest is migrated by django-tenants' ``run_migrations`` (what ``migrate_schemas``
runs per schema) in one transaction that also records the new state: a schema is
either migrated and marked, or left as it was. A failure is reported and the others go
on; running again visits only the schemas still behind, so an interrupted or partly
failed run resumes where it stopped.

With ``parallel`` > 1 the schemas are migrated by that many forked processes (as
django-tenants' multiprocessing executor does), each with its own connection; they
need committed data, so not inside a transaction. SIGINT (Ctrl-C) or SIGTERM stops a
run cleanly: no schema is begun after it, those in flight finish (or roll back), every
process ends, and the run says so; running again resumes. A migration that cannot run inside a
transaction (``atomic = False`` with ``CREATE INDEX CONCURRENTLY``) needs
``migrate_schemas`` instead.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import django
from django.apps import apps
from django.db import connections, transaction
from django_tenants.migration_executors.base import run_migrations
from django_tenants.utils import get_tenant_base_migrate_command_class

from portal.schemas.replay import Replay, migrate_recording, replay_schema
from portal.schemas.state import (
    migration_state,
    organisation_schemas,
    record_state,
    tenants_connection,
)

EXECUTOR_NAME = "organisations"  # how run_migrations prefixes the lines it prints
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_GRACE = 60.0  # seconds a process still migrating when asked to stop may take


@dataclass(frozen=True)
class Pending:
    """What a deploy has to do: the schemas to migrate, those skipped (at ``state``)
    and those missing (an organisation without a schema)."""

    state: str
    to_migrate: list[str]
    skipped: int
    missing: list[str]

    @property
    def total(self) -> int:
        return len(self.to_migrate) + self.skipped + len(self.missing)


def pending_schemas(*, everything: bool = False) -> Pending:
    """The organisations' schemas not at the latest migration state (one query). With
    ``everything``, every existing schema, whatever it records."""
    state = migration_state()
    schemas = organisation_schemas(state)
    return Pending(
        state=state,
        to_migrate=[s.schema_name for s in schemas if s.exists and (everything or not s.current)],
        skipped=sum(1 for s in schemas if s.exists and s.current and not everything),
        missing=[s.schema_name for s in schemas if not s.exists],
    )


@dataclass(frozen=True)
class Outcome:
    schema_name: str
    seconds: float
    error: str = ""  # empty when migrated
    details: str = ""  # the traceback
    replayed: bool = False  # the first schema's statements, not Django's migrations
    note: str = ""  # the first schema's: why the others are not replayed
    replay: Replay | None = None  # the first schema's: what the others replay

    @property
    def failed(self) -> bool:
        return bool(self.error)


class Stopped(Exception):
    """The run was asked to stop (SIGINT, SIGTERM): the organisations in flight finished or
    rolled back, the others are still behind; a rerun resumes with them."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@contextmanager
def _stop_on_signals() -> Iterator[Callable[[], str]]:
    """Within: SIGINT and SIGTERM ask the run to stop after the organisations in flight
    (instead of interrupting one mid-transaction); yields what says which was asked ("" if
    none). Outside the main thread, where no handler can be set, signals act as usual."""
    asked: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: ""
        return

    def ask(signum: int, frame: Any) -> None:
        asked.append(signal.Signals(signum).name)

    previous = {number: signal.signal(number, ask) for number in STOP_SIGNALS}
    try:
        yield lambda: asked[0] if asked else ""
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def migrate_each(
    schema_names: list[str], *, state: str, parallel: int = 1, verbosity: int = 0
) -> Iterator[Outcome]:
    """Migrate each schema and record ``state`` on it, ``parallel`` at a time; yield
    each outcome as it comes (progress). The first is migrated by Django, its statements
    kept; the others replay them (``portal.schemas.replay``: those with the same
    migrations, unless one runs Python; Django migrates the rest). A failing schema is
    rolled back and yielded with its error; the others go on. SIGINT or SIGTERM stops the
    run once the schemas in flight are done (each one transaction: migrated and marked, or
    as it was), with no process left, then raises ``Stopped``."""
    with _stop_on_signals() as asked:
        replay = None
        if schema_names:
            first = migrate_schema(schema_names[0], state=state, verbosity=verbosity, keep=True)
            replay = first.replay
            yield first
        rest = [] if asked() else schema_names[1:]
        if parallel <= 1 or len(rest) <= 1:
            for schema_name in rest:
                if asked():
                    break
                yield migrate_schema(schema_name, state=state, verbosity=verbosity, replay=replay)
        else:
            job = _Job(os.getpid(), state, verbosity, replay)
            yield from _migrate_in_processes(rest, job, parallel, asked)
        if asked():
            raise Stopped(asked())


def _migrate_in_processes(
    schema_names: list[str], job: _Job, parallel: int, asked: Callable[[], str]
) -> Iterator[Outcome]:
    connection = tenants_connection()
    if connection.in_atomic_block:
        raise RuntimeError("Parallel migrations need committed data: not inside a transaction.")
    connections.close_all()  # a forked process must not share the parent's connection
    processes = _Processes(schema_names, job, parallel)
    try:
        yield from processes.outcomes(asked)
    finally:
        processes.end()


@dataclass(frozen=True)
class _Job:
    parent: int  # the process that hands the schemas out
    state: str
    verbosity: int
    replay: Replay | None


class _Processes:
    """``parallel`` processes of their own (forked where the platform can), each taking the
    next schema from the parent, which hands out no more once asked to stop and then waits
    for each process to end (one still busy after ``STOP_GRACE`` seconds is killed: its
    transaction rolls back with its connection)."""

    def __init__(self, schema_names: list[str], job: _Job, parallel: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.tasks, self.results, self.stop = (
            context.SimpleQueue(),
            context.Queue(),
            context.Event(),
        )
        count = min(parallel, len(schema_names))
        self.workers = [
            context.Process(
                target=_work, args=(self.tasks, self.results, self.stop, job), daemon=True
            )
            for _ in range(count)
        ]
        self.waiting = list(reversed(schema_names))
        self.ended = False
        self.in_flight: dict[int, str] = {}
        for worker in self.workers:
            worker.start()
        self.alive = {worker.pid for worker in self.workers}
        self.hand_out(2 * count)

    def hand_out(self, how_many: int) -> None:
        for _ in range(how_many):
            if self.waiting and not self.stop.is_set():
                self.tasks.put(self.waiting.pop())
            elif not self.ended:  # one "no more" for each process
                self.ended = True
                for _worker in self.workers:
                    self.tasks.put(None)

    def outcomes(self, asked: Callable[[], str]) -> Iterator[Outcome]:
        while self.alive:
            if asked() and not self.stop.is_set():
                self.stop.set()
                self.hand_out(1)
            try:
                kind, pid, value = self.results.get(timeout=0.2)
            except queue.Empty:
                yield from self._lost()
                continue
            if kind == "start":
                self.in_flight[pid] = value
                self.hand_out(1)
            elif kind == "done":
                self.in_flight.pop(pid, None)
                yield value
            else:  # "exit"
                self.alive.discard(pid)

    def _lost(self) -> Iterator[Outcome]:
        """The schema of a process that died without a word (killed, out of memory)."""
        for worker in self.workers:
            if worker.pid in self.alive and worker.exitcode is not None:
                self.alive.discard(worker.pid)
                if worker.pid in self.in_flight:
                    error = f"its process ended (exit code {worker.exitcode})"
                    yield Outcome(self.in_flight.pop(worker.pid), 0.0, error)

    def end(self) -> None:
        self.stop.set()
        deadline = time.monotonic() + STOP_GRACE
        for worker in self.workers:
            worker.join(max(deadline - time.monotonic(), 0.1))
            if worker.is_alive():
                worker.kill()
                worker.join()


def _work(tasks: Any, results: Any, stop: Any, job: _Job) -> None:
    """A migrating process: the parent decides when to stop (a terminal's Ctrl-C reaches
    every process of the group; SIGTERM asks the whole run to stop after this schema)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    if not apps.ready:  # a spawned process (no fork on this platform) starts from nothing
        django.setup()
    pid = os.getpid()
    try:
        while not stop.is_set() and os.getppid() == job.parent:
            schema_name = tasks.get()
            if schema_name is None or stop.is_set():
                break
            results.put(("start", pid, schema_name))
            outcome = migrate_schema(
                schema_name, state=job.state, verbosity=job.verbosity, replay=job.replay
            )
            results.put(("done", pid, outcome))
    finally:
        connections.close_all()
        results.put(("exit", pid, None))


def migrate_schema(
    schema_name: str,
    *,
    state: str,
    verbosity: int = 0,
    replay: Replay | None = None,
    keep: bool = False,
) -> Outcome:
    """Migrate one schema to the latest state and record ``state`` on it, in one
    transaction: by ``replay`` when it has the migrations the replay expects, else by
    Django (``keep``: its statements kept as the outcome's ``replay``). Errors are
    returned, not raised."""
    connection = tenants_connection()
    started = time.perf_counter()
    note, kept = "", None
    try:
        with transaction.atomic(using=connection.alias):
            replayed = replay is not None and replay_schema(schema_name, replay, state=state)
            if not replayed and keep:
                options = _migrate_options(verbosity)
                note, kept = migrate_recording(schema_name, state=state, options=options)
            elif not replayed:
                run_migrations((), _migrate_options(verbosity), EXECUTOR_NAME, schema_name)
                record_state(schema_name, state)
    except Exception as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return Outcome(
            schema_name,
            time.perf_counter() - started,
            error=f"{type(error).__name__}: {message}".rstrip(": "),
            details=traceback.format_exc(),
        )
    finally:
        connection.set_schema_to_public()
    seconds = time.perf_counter() - started
    return Outcome(schema_name, seconds, replayed=replayed, note=note, replay=kept)


def _migrate_options(verbosity: int) -> dict[str, Any]:
    """The options of Django's migrate command with its defaults: every migration, no
    prompt, no system checks (the deploy command ran them once)."""
    command = get_tenant_base_migrate_command_class()()
    parser = command.create_parser("manage.py", "migrate")
    return vars(parser.parse_args(["--noinput", "--skip-checks", f"--verbosity={verbosity}"]))
