"""The app role (portal/db/roles.py): the function through which it builds a new
organisation's schema as the owner, the templates' migration state beside their script, and
the app role's rights. Run by the owner role, as every migration is."""

from __future__ import annotations

from typing import Any

from django.db import migrations

from portal.db import roles

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


def grant(apps: Any, schema_editor: Any) -> None:
    for statement in roles.grant_statements(roles.owner_is_app(schema_editor)):
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
