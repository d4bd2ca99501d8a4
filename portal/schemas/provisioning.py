"""Creating an organisation's schema from the schema template, in a few round trips.

Migrating a fresh schema runs every migration (35 of them here, 315 statements, half the
time spent rendering migration states) and costs about a second, more as the catalog grows.
The *schema template* is what that migration changes, captured once: Django's statements,
each rendered with its parameters, run while migrating a scratch schema (tables, indexes,
constraints, the rows post_migrate handlers write: content types, permissions), minus the
introspection of the catalog, what steers the session and what a migration marks as not
needed in a new schema (accounts.0002's grants), followed by one INSERT of the migrations it
recorded. The statements name no schema, so replayed with the search path ``<new schema>,
public`` they build the same schema there. The app role (portal/db/roles.py) owns nothing
and runs no DDL: it replays a template through ``portal_provision_schema``
(``portal/migrations/0003_app_role.py``), a function of the owner role that runs a stored
template's script, as the owner, in the caller's transaction.

A template is stored in ``portal_schema_template`` (public; a plain table, not a model:
the test suite's flush leaves it alone), keyed by everything it depends on: every
migration's name and source, Django's version, the server's version and this module's
``TEMPLATE_FORMAT``. When any of them changes, the next schema built finds no template
for its key and captures a new one. Capturing migrates a scratch schema, so only the owner
role can: the deploy's ``migrate_organisations`` does it; a process of the app role finding
no template for its key says so (``SchemaTemplateMissing``). The capture runs under an
advisory lock, so organisations created at once while it is captured wait for it and use it.

``tests/portal/test_provisioning.py`` compares a provisioned schema with a migrated one,
catalog and rows. A migration whose effect depends on when it runs (a data migration
writing the time) gets the capture's values.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django_tenants.utils import quote_schema_name, schema_exists

from portal.schemas.state import (
    MigrationFile,
    migration_state,
    project_migrations,
    tenants_connection,
)

# Bump when the capture changes what it keeps: templates stored before are then ignored.
TEMPLATE_FORMAT = 6
# The schema migrated to capture the template: created and rolled back in one
# transaction, never seen by another session. Not an organisation's name (those are org_…).
SCRATCH_SCHEMA = "portal_template_scratch"
# pg_advisory_xact_lock key serialising captures ("portal" in ASCII).
CAPTURE_LOCK = 0x706F7274616C

# Statements of a migration run that are not replayed: its savepoints, django-tenants'
# schema switches and look-ups of the search path, and the migration records (inserted
# afterwards in one statement).
_SESSION_OR_RECORD = re.compile(
    r"\s*(?:(?:SAVEPOINT|RELEASE|ROLLBACK|SHOW|SET\s+search_path)\b"
    r'|INSERT\s+INTO\s+"django_migrations"\s)',
    re.IGNORECASE,
)
# Nor Django's introspection: reads of the system catalogs, which change nothing and cost
# more as the catalog grows (pg_class holds every organisation's tables). Other reads are
# replayed: the ORM's look-ups cost little, and a SELECT may call a function that writes.
_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_CATALOG = re.compile(
    r"\b(?:pg_catalog|information_schema)\.|\bpg_(?:class|namespace|attribute|attrdef|index"
    r"|constraint|depend|type|trigger|description|sequence)\b",
    re.IGNORECASE,
)


# A statement that says, on its first line, that a new schema does not need it (a migration
# bringing schemas made earlier to what newer ones get at creation): left out of the
# template only; a deploy's replay in existing schemas (portal/schemas/replay.py) runs it.
_NOT_IN_TEMPLATE = re.compile(r"\s*-- not in the schema template\b")


def _replayed(sql: str) -> bool:
    """Whether a statement of the migration run changes something in the schema."""
    if _SESSION_OR_RECORD.match(sql):
        return False
    return not (_SELECT.match(sql) and _CATALOG.search(sql))


class SchemaTemplateMissing(ImproperlyConfigured):
    """No template for this code, and this process (the app role) cannot capture one."""


@dataclass(frozen=True)
class SchemaTemplate:
    key: str
    state: str  # the migration state a schema built from it is at
    script: str  # the statements, separated by lines holding ";"


# The templates this process has read or captured: a key's template never changes.
_templates: dict[str, SchemaTemplate] = {}


def template_key(migrations: tuple[MigrationFile, ...], server_version: int) -> str:
    """What a template depends on: every migration's name and source, Django's version,
    the server's version, the app role it grants rights to and the template's format."""
    digest = hashlib.sha256(
        f"format {TEMPLATE_FORMAT}; Django {django.get_version()}; "
        f"PostgreSQL {server_version}; app role {settings.PORTAL_DATABASE_APP_ROLE}".encode()
    )
    for migration in migrations:
        digest.update(f"\n{migration.app_label}.{migration.name}\n".encode())
        digest.update(migration.path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _current_key(server_version: int) -> str:
    return template_key(project_migrations(), server_version)


def current_template_key() -> str:
    """The key of the template matching this code and this server."""
    return _current_key(tenants_connection().pg_version)


def provision_schema(schema_name: str, *, check_if_exists: bool = False) -> bool:
    """Create ``schema_name`` at the latest migration state: what migrating a fresh
    schema would make (tables, indexes, constraints, content types, permissions, the
    migrations recorded), and its recorded state; owned by the owner role, whichever role
    asks (``portal_provision_schema``). In the current transaction: if it rolls back,
    nothing of it is left. Returns False (and does nothing) when ``check_if_exists`` and
    the schema exists."""
    connection = tenants_connection()
    if check_if_exists and schema_exists(schema_name):
        return False
    template = schema_template()
    with connection.cursor() as cursor:
        cursor.execute("SELECT portal_provision_schema(%s, %s)", [schema_name, template.key])
    transaction.on_commit(_close_after_building, using=connection.alias)
    return True


def _close_after_building() -> None:
    """Close the connection that built a schema, once its transaction commits (the next
    query opens another). A PostgreSQL session keeps in memory an entry for every relation
    it created, and goes through them again when invalidations reach it: in one session
    that built 3,000 schemas the server process held 400 MB, and the first statement
    after each build took 70-100 ms more than in a new session, growing with every
    organisation. Not inside an atomic block (a test's transaction), where closing would
    break it."""
    connection = tenants_connection()
    if not connection.in_atomic_block:
        connection.close()


def schema_template() -> SchemaTemplate:
    """The template for this code and server: from this process's memory, else from
    ``portal_schema_template``, else captured now and stored (in the current transaction,
    or its own). Captures are serialised by an advisory lock held until the capturing
    transaction ends: a second one waits, then finds the first's template."""
    key = current_template_key()
    if key in _templates:
        return _templates[key]
    connection = tenants_connection()
    script = _stored_script(key)
    if script is None:
        if not _may_capture():
            raise SchemaTemplateMissing(
                "No schema template for this code: run `manage.py migrate_organisations` "
                "(it captures one as the owner role)."
            )
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CAPTURE_LOCK])
            script = _stored_script(key)
            if script is None:
                script = capture_script()
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO portal_schema_template (key, script, state) "
                        "VALUES (%s, %s, %s) ON CONFLICT (key) DO NOTHING",
                        [key, script, migration_state()],
                    )
    template = SchemaTemplate(key=key, state=migration_state(), script=script)
    _templates[key] = template
    return template


def _stored_script(key: str) -> str | None:
    connection = tenants_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT script FROM portal_schema_template WHERE key = %s", [key])
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def _may_capture() -> bool:
    """Whether this session may store a template (only the owner role may)."""
    with tenants_connection().cursor() as cursor:
        cursor.execute("SELECT has_table_privilege('portal_schema_template', 'INSERT')")
        (allowed,) = cursor.fetchone()
    return bool(allowed)


@dataclass
class Statements:
    """An execute wrapper keeping every statement with its parameters."""

    sent: list[tuple[str, Any, bool]] = field(default_factory=list)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.sent.append((sql, params, many))
        return execute(sql, params, many, context)


def rendered(sent: list[tuple[str, Any, bool]]) -> list[str]:
    """The statements of a migration run that changed something (``_replayed``), each
    rendered with its parameters."""
    connection = tenants_connection()
    script = []
    for sql, params, many in sent:
        if not _replayed(sql):
            continue
        for one in params if many else [params]:
            script.append(sql if one is None else connection.ops.compose_sql(sql, one))
    return script


def capture_script() -> str:
    """Migrate a scratch schema as django-tenants migrates a new tenant's, and return
    the script that makes the same changes: the statements that changed something, each
    rendered with its parameters, then one INSERT of the migrations recorded. The
    scratch schema is rolled back."""
    connection = tenants_connection()
    statements = Statements()
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {quote_schema_name(SCRATCH_SCHEMA)}")
        with connection.execute_wrapper(statements):
            call_command(
                "migrate_schemas",
                tenant=True,
                schema_name=SCRATCH_SCHEMA,
                executor="standard",  # in this process and connection, whatever EXECUTOR says
                interactive=False,
                verbosity=0,
            )
        connection.set_schema(SCRATCH_SCHEMA, include_public=False)
        try:
            with connection.cursor() as cursor:
                cursor.execute('SELECT "app", "name" FROM "django_migrations" ORDER BY "id"')
                recorded = cursor.fetchall()
        finally:
            connection.set_schema_to_public()
        transaction.set_rollback(True, using=connection.alias)

    made = [sql for sql in rendered(statements.sent) if not _NOT_IN_TEMPLATE.match(sql)]
    script = fold_into_create_table(made)
    rows = ", ".join(
        connection.ops.compose_sql("(%s, %s, now())", [app, name]) for app, name in recorded
    )
    script.append(f'INSERT INTO "django_migrations" ("app", "name", "applied") VALUES {rows}')
    named = [statement for statement in script if SCRATCH_SCHEMA in statement]
    if named:
        raise RuntimeError(
            "A migration names the schema it runs in, so it cannot be replayed in another: "
            + named[0][:200]
        )
    # ";" on a line of its own: a statement may end with a "--" comment.
    return "\n;\n".join(script)


# --- Folding later column changes into the CREATE TABLE ----------------------------------
# Two kinds of statement cost more the more organisations there are: ALTER COLUMN ... TYPE
# (PostgreSQL reads the whole of pg_index to rebuild the column's indexes) and ADD COLUMN
# with a default (about 20 ms each at 3,500 organisations, against 1 ms on an empty
# server; 41 ms against 0.9 ms at 5,000, measured). On a table the script itself created,
# with no rows yet, both say what the CREATE TABLE could have said: they are folded into it.
# Anything else that names the table, other than the statements below that leave its
# columns and rows alone, stops the folding for that table, so that columns keep their
# order and rows their values. An UPDATE or DELETE changes only rows of its own table, and
# a table still open to folding has none (the INSERT that would give it some closes it).

_CREATE_TABLE = re.compile(r'CREATE TABLE "(?P<table>[^"]+)" \((?P<columns>.*)\)\Z', re.DOTALL)
_ALTER_VARCHAR = re.compile(
    r'ALTER TABLE "(?P<table>[^"]+)" ALTER COLUMN "(?P<column>[^"]+)" '
    r"TYPE (?P<type>varchar\(\d+\))\Z"
)
# A plain column: a name, a type, perhaps a literal default, NULL or NOT NULL; no
# constraint, reference, identity or generated expression.
_ADD_COLUMN = re.compile(
    r'ALTER TABLE "(?P<table>[^"]+)" ADD COLUMN (?P<column>"[^"]+" [a-z][a-z0-9 ()]*?'
    r"(?: DEFAULT '[^']*'(?:::[a-z]+)?| DEFAULT -?\d+| DEFAULT (?:true|false))?"
    r" (?:NOT )?NULL)\Z"
)
_LEAVES_COLUMNS_AND_ROWS = re.compile(
    r"\s*(?:CREATE (?:UNIQUE )?INDEX |DROP INDEX |SET CONSTRAINTS |SELECT |UPDATE |DELETE FROM "
    r'|ALTER TABLE "[^"]+" (?:ADD CONSTRAINT|DROP CONSTRAINT|ALTER COLUMN "[^"]+" '
    r"(?:SET|DROP) (?:NOT NULL|DEFAULT)))"
)


def fold_into_create_table(script: list[str]) -> list[str]:
    """``script`` with each ALTER COLUMN ... TYPE varchar(n) and each plain ADD COLUMN on
    a table it created (and that has no rows yet) written into that CREATE TABLE."""
    folded: list[str] = []
    creates: dict[str, int] = {}  # tables still open to folding -> their CREATE in folded
    for sql in script:
        create = _CREATE_TABLE.match(sql)
        if create:
            creates[create["table"]] = len(folded)
            folded.append(sql)
            continue
        alter = _ALTER_VARCHAR.match(sql)
        if alter and alter["table"] in creates:
            where = creates[alter["table"]]
            column = re.escape(alter["column"])
            retyped, found = re.subn(
                rf'(?P<lead>\(|, )"{column}" varchar\(\d+\)(?=[ ,)])',
                rf'\g<lead>"{alter["column"]}" {alter["type"]}',
                folded[where],
            )
            if found == 1:
                folded[where] = retyped
                continue
        added = _ADD_COLUMN.match(sql)
        if added and added["table"] in creates:
            where = creates[added["table"]]
            folded[where] = f"{folded[where][:-1]}, {added['column']})"
            continue
        if not _LEAVES_COLUMNS_AND_ROWS.match(sql):
            for table in [table for table in creates if f'"{table}"' in sql]:
                del creates[table]
        folded.append(sql)
    return folded
