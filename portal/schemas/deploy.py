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
need committed data, so not inside a transaction. A migration that cannot run inside a
transaction (``atomic = False`` with ``CREATE INDEX CONCURRENTLY``) needs
``migrate_schemas`` instead.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import django
from django.apps import apps
from django.db import connections, transaction
from django_tenants.migration_executors.base import run_migrations
from django_tenants.utils import get_tenant_base_migrate_command_class

from portal.schemas.state import (
    migration_state,
    organisation_schemas,
    record_state,
    tenants_connection,
)

EXECUTOR_NAME = "organisations"  # how run_migrations prefixes the lines it prints


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

    @property
    def failed(self) -> bool:
        return bool(self.error)


def migrate_each(
    schema_names: list[str], *, state: str, parallel: int = 1, verbosity: int = 0
) -> Iterator[Outcome]:
    """Migrate each schema and record ``state`` on it, ``parallel`` at a time; yield
    each outcome as it comes (progress). A failing schema is rolled back and yielded
    with its error; the others go on."""
    if parallel <= 1 or len(schema_names) <= 1:
        for schema_name in schema_names:
            yield migrate_schema(schema_name, state=state, verbosity=verbosity)
        return
    connection = tenants_connection()
    if connection.in_atomic_block:
        raise RuntimeError("Parallel migrations need committed data: not inside a transaction.")
    connections.close_all()  # a forked process must not share the parent's connection
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(parallel, mp_context=context, initializer=_start_worker) as pool:
        futures: dict[Future[Outcome], str] = {
            pool.submit(migrate_schema, name, state=state, verbosity=verbosity): name
            for name in schema_names
        }
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as error:  # the worker process died (BrokenProcessPool)
                    yield Outcome(futures[future], 0.0, f"{type(error).__name__}: {error}")
        except BaseException:  # interrupted, or the caller stopped listening
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _start_worker() -> None:
    if not apps.ready:  # a spawned process (no fork on this platform) starts from nothing
        django.setup()


def migrate_schema(schema_name: str, *, state: str, verbosity: int = 0) -> Outcome:
    """Migrate one schema to the latest state and record ``state`` on it, in one
    transaction. Errors are returned, not raised."""
    connection = tenants_connection()
    started = time.perf_counter()
    try:
        with transaction.atomic(using=connection.alias):
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
    return Outcome(schema_name, time.perf_counter() - started)


def _migrate_options(verbosity: int) -> dict[str, Any]:
    """The options of Django's migrate command with its defaults: every migration, no
    prompt, no system checks (the deploy command ran them once)."""
    command = get_tenant_base_migrate_command_class()()
    parser = command.create_parser("manage.py", "migrate")
    return vars(parser.parse_args(["--noinput", "--skip-checks", f"--verbosity={verbosity}"]))
