"""Database privileges (portal/db/roles.py): the app role owns nothing and cannot rewrite
history.

The tests run as the app role (tests/conftest.py), so every statement here is what the web
server, a worker or ``manage.py shell`` could send. Each refusal is checked against the owner
too (``owner_role``): the statement works there, so it is the role that refuses it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Action, record
from portal.db import roles
from portal.schemas.provisioning import current_template_key
from tests.conftest import Site, owner_role

pytestmark = pytest.mark.django_db

APPEND_ONLY = ["subscriptions_auditevent", "subscriptions_ledgerline", "subscriptions_invoice"]


def _refused(statement: str, params: list[str] | None = None) -> str:
    """Run ``statement`` in a savepoint; the error PostgreSQL gave (it must give one)."""
    with (
        pytest.raises(DatabaseError) as raised,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, params)
    return str(raised.value)


def _allowed_to_the_owner(statement: str) -> None:
    """The same statement, as the owner, in a savepoint rolled back: it runs."""
    with owner_role(), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
        transaction.set_rollback(True)


@pytest.fixture
def an_event(northwind: Site) -> Iterator[AuditEvent]:
    yield record(
        Action.PLAN_CHANGED,
        acting_user=None,
        organisation=northwind.organisation,
        target=northwind.organisation,
        after={"plan": "test"},
    )


def test_the_tests_run_as_the_app_role_which_owns_nothing() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, session_user")
        current, session = cursor.fetchone()
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole),"
            " (SELECT count(*) FROM pg_namespace WHERE nspowner = current_user::regrole),"
            " (SELECT count(*) FROM pg_proc WHERE proowner = current_user::regrole),"
            " (SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles"
            "  WHERE rolname = current_user)"
        )
        tables, schemas, functions, powers = cursor.fetchone()
    assert current == settings.PORTAL_DATABASE_APP_ROLE != session
    assert (tables, schemas, functions, powers) == (0, 0, 0, False)


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_append_only_tables_refuse_update_delete_and_truncate(table: str, an_event) -> None:
    for statement in (
        f"UPDATE {table} SET id = id",
        f"DELETE FROM {table}",
        f"TRUNCATE {table}",
        f"TRUNCATE {table} CASCADE",
    ):
        assert "permission denied" in _refused(statement), statement


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_their_triggers_cannot_be_disabled_dropped_or_replaced(table: str) -> None:
    trigger = f"{table}_no_truncate"
    for statement in (
        f"ALTER TABLE {table} DISABLE TRIGGER ALL",
        f"ALTER TABLE {table} DISABLE TRIGGER {trigger}",
        f"DROP TRIGGER {trigger} ON {table}",
        f"ALTER TABLE {table} OWNER TO {settings.PORTAL_DATABASE_APP_ROLE}",
    ):
        assert "must be owner" in _refused(statement), statement
    _allowed_to_the_owner(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")


def test_the_trigger_functions_cannot_be_replaced() -> None:
    replace = (
        "CREATE OR REPLACE FUNCTION subscriptions_refuse_truncate() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
    )
    # Refused for want of rights on the schema, or of ownership of the function.
    assert re.search("must be owner|permission denied", _refused(replace))
    assert "must be owner" in _refused("DROP FUNCTION subscriptions_refuse_truncate() CASCADE")


def test_replication_mode_which_skips_triggers_is_refused() -> None:
    assert "permission denied" in _refused("SET session_replication_role = replica")
    _allowed_to_the_owner("SET LOCAL session_replication_role = replica")


def test_no_ddl() -> None:
    assert "permission denied" in _refused("CREATE TABLE public.intruder (id int)")
    assert "permission denied" in _refused("CREATE SCHEMA intruder")
    assert "must be owner" in _refused("ALTER TABLE accounts_user ADD COLUMN intruder int")
    assert "must be owner" in _refused("DROP TABLE subscriptions_plan CASCADE")


def test_the_templates_and_the_migration_record_are_read_only() -> None:
    assert "permission denied" in _refused(
        "INSERT INTO portal_schema_template (key, script, state) VALUES ('x', 'SELECT 1', 'x')"
    )
    assert "permission denied" in _refused("UPDATE portal_schema_template SET script = script")
    assert "permission denied" in _refused("DELETE FROM django_migrations")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM portal_schema_template")
        assert cursor.fetchone()[0] >= 1  # read, by provisioning


def test_events_are_still_written_and_read(an_event: AuditEvent) -> None:
    assert AuditEvent.objects.filter(pk=an_event.pk).exists()


def _event_dated(when: datetime) -> datetime:
    event = AuditEvent.objects.create(actor_kind="command", action="test.dated", created_at=when)
    return AuditEvent.objects.get(pk=event.pk).created_at


@pytest.mark.real_clock  # compared with the database's
def test_an_event_the_app_writes_carries_the_database_clock() -> None:
    long_ago = timezone.make_aware(datetime(2020, 1, 1))
    assert abs(_event_dated(long_ago) - timezone.now()) < timedelta(minutes=1)
    with owner_role():  # a data migration may give another time
        assert _event_dated(long_ago) == long_ago


def test_the_provisioning_function_builds_only_organisation_schemas() -> None:
    key = current_template_key()
    for name in ("public", "pg_catalog", "org_x; DROP TABLE accounts_user", "ORG_X", "x" * 70):
        message = _refused("SELECT portal_provision_schema(%s, %s)", [name, key])
        assert "Not an organisation's schema name" in message, name
    assert "No schema template" in _refused(
        "SELECT portal_provision_schema(%s, %s)", ["org_nowhere", "no-such-key"]
    )


def test_a_schema_built_for_the_app_is_the_owners_and_usable_by_the_app() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT portal_provision_schema(%s, %s)", ["org_built_here", current_template_key()]
        )
        cursor.execute(
            "SELECT pg_get_userbyid(nspowner) <> current_user FROM pg_namespace"
            " WHERE nspname = 'org_built_here'"
        )
        assert cursor.fetchone() == (True,)
        cursor.execute("SELECT count(*) FROM org_built_here.accounts_user")
        assert cursor.fetchone() == (0,)
    assert "must be owner" in _refused("DROP SCHEMA org_built_here CASCADE")


def test_migrations_grant_nothing_when_one_role_does_both() -> None:
    assert roles.grant_statements(owner_is_app=True) == []
    assert roles.append_only_statements(APPEND_ONLY, owner_is_app=True) == []
    granted = roles.grant_statements(owner_is_app=False)
    assert any(settings.PORTAL_DATABASE_APP_ROLE in statement for statement in granted)
