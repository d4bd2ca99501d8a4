"""The app role (portal/db/roles.py) may only read and add rows of the append-only tables:
UPDATE, DELETE and TRUNCATE are refused by its privileges before any trigger runs."""

from __future__ import annotations

from typing import Any

from django.db import migrations


# As portal/db/roles.py had them when this migration was written (a migration runs the code
# it was written with, whatever the application becomes).
def _app_role() -> str:
    from django.conf import settings

    return str(settings.PORTAL_DATABASE_APP_ROLE)


def _owner_is_app(schema_editor: Any) -> bool:
    """Whether the app role is the role running the migration (one role for both)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
    return bool(current == _app_role())


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

TABLES = ["subscriptions_auditevent", "subscriptions_ledgerline", "subscriptions_invoice"]


def revoke(apps: Any, schema_editor: Any) -> None:
    if _owner_is_app(schema_editor):
        return
    role = _quoted(_app_role())
    for table in TABLES:
        schema_editor.execute(
            f"REVOKE ALL ON {table} FROM {role}; GRANT SELECT, INSERT ON {table} TO {role}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_app_role"),
        ("subscriptions", "0011_seats_in_use"),
    ]

    operations = [migrations.RunPython(revoke, migrations.RunPython.noop)]
