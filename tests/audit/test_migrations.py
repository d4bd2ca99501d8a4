"""The audit log's move to an app of its own (audit/migrations/0001, subscriptions/0021) keeps
every event, on a database with the demo's data: undone and done again, the table, its
rows and the staff groups' permission to read them are as they were."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.models import AuditEvent
from tests.conftest import drop_schemas, owner_role

BEFORE_THE_MOVE = [("subscriptions", "0020_subscription_stamp"), ("audit", None)]


def _events() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, organisation_id, actor_kind, actor_email, action, target, before, "
            "after, created_at FROM subscriptions_auditevent ORDER BY id"
        )
        return cursor.fetchall()


def _model_content_type() -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app_label FROM django_content_type WHERE model = 'auditevent'")
        [row] = cursor.fetchall()
        return row


def _migrate(targets: list[tuple[str, str | None]] | None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_every_event_and_who_may_read_them(
    catalogue: None, owner_connections: None, settings
) -> None:
    settings.DEBUG = True
    # The staff groups may read the log (subscriptions/migrations/0003; a flush after an
    # earlier test with committed data empties them).
    for name in ("Billing operations", "Support"):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(Permission.objects.get(codename="view_auditevent"))
    call_command("seed_demo", stdout=StringIO())
    try:
        events = _events()
        assert len(events) >= 10  # the demo's organisations started, changed, refunded
        content_type_id, label = _model_content_type()
        assert label == "audit"
        readers = set(
            Group.objects.filter(permissions__codename="view_auditevent").values_list(
                "name", flat=True
            )
        )
        assert readers == {"Billing operations", "Support"}

        with owner_role():
            try:
                _migrate(BEFORE_THE_MOVE)
                assert _events() == events
                assert _model_content_type() == (content_type_id, "subscriptions")
            finally:
                _migrate(None)

        ContentType.objects.clear_cache()
        assert _events() == events
        assert _model_content_type() == (content_type_id, "audit")
        assert ContentType.objects.get_for_model(AuditEvent).pk == content_type_id
        assert [event.pk for event in AuditEvent.objects.order_by("id")] == [e[0] for e in events]
        for name in readers:
            permissions = Group.objects.get(name=name).permissions
            assert permissions.filter(
                content_type_id=content_type_id, codename="view_auditevent"
            ).exists()
    finally:
        drop_schemas("org_acme", "org_globex", "org_initech", "org_hikari")
