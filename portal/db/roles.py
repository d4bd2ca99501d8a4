"""The database's two roles.

The **app role** (``DATABASES["default"]``, from ``DATABASE_URL``; ``portal_app`` on the
embedded server) is what the web server, the workers, ``manage.py shell`` and every command
connect as. It owns nothing: it reads and writes rows, may only read and add rows of the
append-only tables (audit log, ledger, invoices) and of the schema templates, and runs no
DDL. The **owner role** (``PORTAL_DATABASE_OWNER``, from ``DATABASE_OWNER_URL``; the
embedded server's ``postgres``) owns the schemas, tables and triggers: only the deploy's
migrations (``manage.py migrate_organisations``, which calls ``connect_as_owner``) use it.

A new organisation's schema is built by the app role through one function the owner
defines, ``portal_provision_schema(schema, template key)`` (SECURITY DEFINER,
``portal/migrations/0003_app_role.py``, made safe in ``0005``): it replays a stored schema
template, so the app chooses which organisation to build but never what is run. The app role
may create no temporary objects, and the function searches ``pg_temp`` last, so nothing of
the caller's can stand in for a table the template names (a test scans every SECURITY
DEFINER function of the database for that). The owner's default privileges
give the app role its rights on every table the owner creates later; a migration that adds
an append-only table revokes UPDATE and DELETE on it (``APPEND_ONLY_PRIVILEGES``).

With ``DATABASE_URL`` alone the app connects as whoever that names, owner included: the
deploy check ``portal.E004`` refuses that in production.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections

# The connection settings the two roles may differ in (the database is the same).
ROLE_KEYS = ("USER", "PASSWORD", "HOST", "PORT")
# What the app role may do on an append-only table.
APPEND_ONLY_PRIVILEGES = "SELECT, INSERT"


def app_role() -> str:
    """The name of the role the app connects as."""
    return str(settings.PORTAL_DATABASE_APP_ROLE)


def connect_as_owner() -> None:
    """From now on, this process's connections (threads and forked processes included) use
    the owner role: for schema changes only."""
    owner = settings.PORTAL_DATABASE_OWNER
    default = settings.DATABASES["default"]
    if all(default.get(key) == owner.get(key) for key in ROLE_KEYS):
        return
    connections.close_all()
    default.update({key: owner[key] for key in ROLE_KEYS})


def grant_statements(owner_is_app: bool) -> list[str]:
    """What migration ``portal.0003`` runs as the owner: the app role's rights on what
    exists in public and on what the owner creates later (every organisation's schema,
    its tables and sequences). Nothing when the app connects as the owner."""
    if owner_is_app:
        return []
    role = _quoted(app_role())
    return [
        # PostgreSQL 14 lets everyone create in public; 15 and later do not. Only the
        # database's owner may take it back: another owner role says so and goes on.
        """DO $$ BEGIN REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'Revoke CREATE on schema public from PUBLIC as the database owner.';
        END $$""",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO {role}",
        f"ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
        # What the app must not rewrite: the templates the owner's function runs, and the
        # record of which migrations ran.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON portal_schema_template FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM {role}",
        f"GRANT EXECUTE ON FUNCTION portal_provision_schema(text, text) TO {role}",
    ]


def append_only_statements(tables: list[str], owner_is_app: bool) -> list[str]:
    """For a migration that makes ``tables`` append-only: the app role may read them and
    add rows, nothing else."""
    if owner_is_app:
        return []
    role = _quoted(app_role())
    return [
        f"REVOKE ALL ON {table} FROM {role}; GRANT {APPEND_ONLY_PRIVILEGES} ON {table} TO {role}"
        for table in tables
    ]


def owner_is_app(schema_editor: Any) -> bool:
    """In a migration: whether the app role is the role running it (one role for both)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
    return bool(current == app_role())


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
