"""A deploy's migrations replayed: the first schema behind is migrated by Django while its
statements are recorded, and the others at the same migrations get those statements again,
in a few round trips each instead of Django's migration machinery (issue 26, point 2:
~1.5 s of Python per schema, most of it rendering migration states).

What makes it safe:

- a schema is replayed only if it has exactly the migrations the first had before
  (one query, in its transaction); any other is migrated by Django;
- a migration that runs Python in an organisation's schema (``RunPython`` in an app of
  ``TENANT_APPS``: its effect may depend on the schema's rows) is not replayed: every
  schema is migrated by Django, and the deploy says which migration needed it;
- the statements are those the schema template keeps (``provisioning.replayed``: no catalog
  introspection, nothing that steers the session), rendered with their parameters, and none
  may name the first schema; the rows of content types and permissions that ``post_migrate``
  wrote are not replayed with the first schema's ids: each replayed schema runs
  ``post_migrate`` itself, for the apps of the migrations, when the first one's wrote any;
- each schema is one transaction that also records the migrations and the new state: it is
  migrated and marked, or left as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython, SeparateDatabaseAndState
from django.db.models.signals import post_migrate
from django_tenants.migration_executors.base import run_migrations

from portal.schemas.provisioning import Statements, rendered
from portal.schemas.state import record_state, tenants_connection

# What post_migrate's handlers write (content types, permissions): made again per schema.
_POST_MIGRATE = re.compile(
    r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"(?:django_content_type|auth_permission)"',
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Replay:
    """What migrating the first schema did, to do again in the others."""

    before: frozenset[tuple[str, str]]  # the migrations it had
    script: tuple[str, ...]
    recorded: tuple[tuple[str, str], ...]  # the migrations it added, in order
    # The apps whose post_migrate wrote rows (a model added, removed or renamed): each
    # replayed schema runs it for them, its content types and permissions with its own ids.
    post_migrate: tuple[str, ...]


def needs_python(migrations: Iterable[tuple[str, str]]) -> str:
    """The first of ``migrations`` that runs Python in an organisation's schema, as
    "app.name" ("" if none)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    tenant_labels = set(_tenant_apps())
    for app_label, name in migrations:
        if app_label not in tenant_labels or (app_label, name) not in graph.nodes:
            continue  # a shared app's migration does nothing in an organisation's schema
        migration: Migration = graph.nodes[app_label, name]
        operations = list(migration.operations)
        for operation in list(operations):
            if isinstance(operation, SeparateDatabaseAndState):
                operations += operation.database_operations
        if not migration.atomic or any(isinstance(op, RunPython) for op in operations):
            return f"{app_label}.{name}"
    return ""


def _tenant_apps() -> list[str]:
    """The labels of ``TENANT_APPS``: the apps whose migrations act in an organisation's
    schema (django-tenants' router makes the others do nothing there)."""
    labels = []
    for entry in settings.TENANT_APPS:
        config = next((c for c in apps.get_app_configs() if c.name == entry), None)
        if config is not None:
            labels.append(config.label)
    return labels


def _applied() -> frozenset[tuple[str, str]]:
    with tenants_connection().cursor() as cursor:
        cursor.execute('SELECT "app", "name" FROM "django_migrations"')
        return frozenset((str(app), str(name)) for app, name in cursor.fetchall())


def migrate_recording(
    schema_name: str, *, state: str, options: dict[str, object]
) -> tuple[str, Replay | None]:
    """Migrate ``schema_name`` with Django and record ``state`` on it (in the caller's
    transaction), keeping its statements: returns them as a ``Replay``, or why they cannot
    be replayed."""
    connection = tenants_connection()
    connection.set_schema(schema_name)
    before = _applied()
    statements = Statements()
    with connection.execute_wrapper(statements):
        run_migrations((), options, "organisations", schema_name)
    connection.set_schema(schema_name)
    recorded = tuple(key for key in _graph_order() if key in _applied() - before)
    record_state(schema_name, state)
    if why := needs_python(recorded):
        return f"{why} runs Python", None
    script = rendered(statements.sent)
    if any(schema_name in statement for statement in script):
        return "a migration names the schema it runs in", None
    kept = tuple(statement for statement in script if not _POST_MIGRATE.match(statement))
    tenant_labels = set(_tenant_apps())
    labels = tuple(dict.fromkeys(app for app, _name in recorded if app in tenant_labels))
    return "", Replay(before, kept, recorded, labels if len(kept) < len(script) else ())


def _graph_order() -> list[tuple[str, str]]:
    """Every migration, each after those it depends on."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    order: dict[tuple[str, str], None] = {}
    for leaf in sorted(graph.leaf_nodes()):
        order.update(dict.fromkeys(graph.forwards_plan(leaf)))
    return list(order)


def replay_schema(schema_name: str, replay: Replay, *, state: str) -> bool:
    """Do to ``schema_name`` what the first schema's migration did and record ``state`` (in
    the caller's transaction); False, having changed nothing, if its migrations are not the
    ones the first had."""
    connection = tenants_connection()
    connection.set_schema(schema_name)
    if _applied() != replay.before:
        return False
    with connection.cursor() as cursor:
        for statement in replay.script:
            cursor.execute(statement)
        if replay.recorded:
            rows = ", ".join(
                connection.ops.compose_sql("(%s, %s, now())", list(key)) for key in replay.recorded
            )
            cursor.execute(
                f'INSERT INTO "django_migrations" ("app", "name", "applied") VALUES {rows}'
            )
    for label in replay.post_migrate:
        config = apps.get_app_config(label)
        post_migrate.send(
            sender=config,
            app_config=config,
            verbosity=0,
            interactive=False,
            using=connection.alias,
            apps=apps,
            plan=None,
        )
    connection.set_schema(schema_name)
    record_state(schema_name, state)
    return True
