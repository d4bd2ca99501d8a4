"""Where each organisation's schema stands.

The project's *migration state* is a digest of the names of every migration in its
graph. A schema records the state it reached as its comment (``COMMENT ON SCHEMA``), in
the transaction that provisions or migrates it; one query over ``pg_namespace`` and
``pg_description`` (one row per schema, however many tables each holds) then tells every
schema at the latest state from the others.

Every app's migrations count, shared ones included: migrating an organisation's schema
records them all there (django-tenants' router makes the shared ones no-ops) and its
post_migrate handlers write content types and permissions for every model.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import (
    get_public_schema_name,
    get_tenant_database_alias,
    get_tenant_model,
    quote_schema_name,
)

STATE_PREFIX = "portal migration state "


def tenants_connection() -> Any:
    """The connection organisations' schemas are on (django-tenants adds ``set_schema``
    and the like at run time, where type checkers cannot see them)."""
    return cast(Any, connections[get_tenant_database_alias()])


@dataclass(frozen=True)
class MigrationFile:
    app_label: str
    name: str
    path: Path


@functools.cache
def project_migrations() -> tuple[MigrationFile, ...]:
    """Every migration in the project's graph, sorted; read once per process (the code
    does not change under a running process)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return tuple(
        MigrationFile(app_label, name, Path(inspect.getfile(type(graph.nodes[app_label, name]))))
        for app_label, name in sorted(graph.nodes)
    )


def migration_state(migrations: tuple[MigrationFile, ...] | None = None) -> str:
    """The latest migration state: a digest of every migration's name. A schema that
    records it has every migration applied."""
    names = "\n".join(
        f"{migration.app_label}.{migration.name}"
        for migration in (project_migrations() if migrations is None else migrations)
    )
    return STATE_PREFIX + hashlib.sha256(names.encode()).hexdigest()


def record_state(schema_name: str, state: str) -> None:
    """Record on ``schema_name`` that it is at ``state``, in the current transaction."""
    if not state.startswith(STATE_PREFIX) or "'" in state:
        raise ValueError(f"Not a migration state: {state!r}")
    connection = tenants_connection()
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA {quote_schema_name(schema_name)} IS '{state}'")


@dataclass(frozen=True)
class SchemaState:
    schema_name: str
    exists: bool
    current: bool  # recorded at the state asked about


def organisation_schemas(state: str) -> list[SchemaState]:
    """Every organisation's schema, in the order they were created: whether it exists
    and whether it records ``state``. One query, whatever the number of organisations. A
    deleted organisation has none (``organisations.deletion``)."""
    organisations = get_tenant_model()._meta.db_table
    connection = tenants_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT o.schema_name, n.oid IS NOT NULL, d.description IS NOT DISTINCT FROM %s
            FROM {connection.ops.quote_name(organisations)} AS o
            LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = o.schema_name
            LEFT JOIN pg_catalog.pg_description AS d
                ON d.objoid = n.oid
                AND d.classoid = 'pg_catalog.pg_namespace'::regclass
                AND d.objsubid = 0
            WHERE o.schema_name <> %s AND o.deleted_on IS NULL
            ORDER BY o.id
            """,
            [state, get_public_schema_name()],
        )
        return [SchemaState(*row) for row in cursor.fetchall()]
