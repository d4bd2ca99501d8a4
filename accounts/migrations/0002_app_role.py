"""The app role (portal/db/roles.py) on every schema made before it had one: its rights on
the schema, its tables and its sequences. Schemas made later get them from the owner's
default privileges (``portal.0003``); replayed in a new schema, this repeats them."""

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

# The schema is named by current_schema(), not in the statement: the schema template
# (portal/schemas/provisioning.py) replays statements in schemas other than the one
# they were captured in. The template leaves this one out (its first line says so): in a
# new schema it would change nothing, and GRANT ... ON ALL TABLES IN SCHEMA reads the
# whole of pg_class, every organisation's tables (135 ms at 2,000 organisations).
GRANT = """-- not in the schema template: the owner's default privileges (portal.0003) grant this
DO $$ BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %%I TO %%I', current_schema(), %s);
    EXECUTE format(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %%I TO %%I',
        current_schema(), %s
    );
    EXECUTE format(
        'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %%I TO %%I',
        current_schema(), %s
    );
END $$
"""


def grant(apps: Any, schema_editor: Any) -> None:
    if _owner_is_app(schema_editor):
        return
    role = _app_role()
    schema_editor.execute(GRANT, [role, role, role])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
