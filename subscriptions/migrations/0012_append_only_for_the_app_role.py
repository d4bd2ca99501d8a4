"""The app role (portal/db/roles.py) may only read and add rows of the append-only tables:
UPDATE, DELETE and TRUNCATE are refused by its privileges before any trigger runs."""

from __future__ import annotations

from typing import Any

from django.db import migrations

from portal.db import roles

TABLES = ["subscriptions_auditevent", "subscriptions_ledgerline", "subscriptions_invoice"]


def revoke(apps: Any, schema_editor: Any) -> None:
    for statement in roles.append_only_statements(TABLES, roles.owner_is_app(schema_editor)):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_app_role"),
        ("subscriptions", "0011_seats_in_use"),
    ]

    operations = [migrations.RunPython(revoke, migrations.RunPython.noop)]
