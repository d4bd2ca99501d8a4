"""The app role (portal/db/roles.py): the function through which it builds a new
organisation's schema as the owner, the templates' migration state beside their script, and
the app role's rights. Run by the owner role, as every migration is."""

from __future__ import annotations

from typing import Any

from django.db import migrations

PROVISION = r"""
CREATE FUNCTION portal_provision_schema(schema_name text, template_key text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
-- Build an organisation's schema from a stored template (portal/schemas/provisioning.py), as
-- the owner. The caller names the schema and the template; what runs is the template's own
-- script, which only the owner can store.
DECLARE
    template record;
BEGIN
    IF schema_name !~ '^org_[a-z0-9_]{1,59}$' THEN
        RAISE EXCEPTION 'Not an organisation''s schema name: %', schema_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT t.script, t.state INTO template
        FROM public.portal_schema_template AS t WHERE t.key = template_key;
    IF NOT FOUND OR template.state IS NULL THEN
        RAISE EXCEPTION 'No schema template %: run manage.py migrate_organisations', template_key
            USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('CREATE SCHEMA %I', schema_name);
    -- Until the function returns (its SET clause then restores the caller's path).
    PERFORM set_config('search_path', format('%I, public', schema_name), true);
    EXECUTE template.script;
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', schema_name, template.state);
END
$$;
REVOKE ALL ON FUNCTION portal_provision_schema(text, text) FROM PUBLIC;
"""


def _app_role() -> str:
    from django.conf import settings

    return str(settings.PORTAL_DATABASE_APP_ROLE)


def _owner_is_app(schema_editor: Any) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
    return bool(current == _app_role())


def grant(apps: Any, schema_editor: Any) -> None:
    """The app role's rights on what exists in public and on what the owner creates later
    (every organisation's schema, its tables and sequences), as portal/db/roles.py had them
    when this migration was written. Nothing when the app connects as the owner."""
    if _owner_is_app(schema_editor):
        return
    role = '"' + _app_role().replace('"', '""') + '"'
    for statement in [
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
    ]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_schema_template"),
    ]

    operations = [
        migrations.RunSQL(
            # Templates stored before carry no state: the next capture replaces them.
            sql="""
                DELETE FROM portal_schema_template;
                ALTER TABLE portal_schema_template ADD COLUMN state text NOT NULL;
            """,
            reverse_sql="ALTER TABLE portal_schema_template DROP COLUMN state",
        ),
        migrations.RunSQL(
            sql=PROVISION,
            reverse_sql="DROP FUNCTION portal_provision_schema(text, text)",
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
