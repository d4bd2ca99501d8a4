"""The provisioning function no longer finds the caller's temporary objects, and the app role
may no longer make any.

``portal_provision_schema`` (0003) runs as the owner with a search path that did not name
``pg_temp``, so PostgreSQL searched the caller's temporary schema first: a temporary table
``django_migrations`` with a trigger, planted by the app role, ran that trigger as the owner
during the template's ``INSERT INTO "django_migrations"``. Now ``pg_temp`` comes last in
both paths the function sets, every name the function itself uses is schema-qualified, a
NULL argument is refused, and nobody but the database's owner may create temporary objects
(the privilege comes to every role through PUBLIC). Self-contained: a migration runs the
code it was written with, whatever the application becomes."""

from __future__ import annotations

from typing import Any

from django.db import migrations

PROVISION = r"""
CREATE OR REPLACE FUNCTION public.portal_provision_schema(schema_name text, template_key text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
-- Build an organisation's schema from a stored template (portal/schemas/provisioning.py), as
-- the owner. The caller names the schema and the template; what runs is the template's own
-- script, which only the owner can store. pg_temp is last in every path set here: a caller's
-- temporary table or function never stands in for one the script names.
DECLARE
    template record;
BEGIN
    IF schema_name IS NULL OR template_key IS NULL
            OR schema_name OPERATOR(pg_catalog.!~) '^org_[a-z0-9_]{1,59}$' THEN
        RAISE EXCEPTION 'Not an organisation''s schema name: %', schema_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT t.script, t.state INTO template
        FROM public.portal_schema_template AS t
        WHERE t.key OPERATOR(pg_catalog.=) template_key;
    IF NOT FOUND OR template.state IS NULL THEN
        RAISE EXCEPTION 'No schema template %: run manage.py migrate_organisations', template_key
            USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE pg_catalog.format('CREATE SCHEMA %I', schema_name);
    -- Until the function returns (its SET clause then restores the caller's path).
    PERFORM pg_catalog.set_config(
        'search_path', pg_catalog.format('%I, public, pg_temp', schema_name), true
    );
    EXECUTE template.script;
    EXECUTE pg_catalog.format('COMMENT ON SCHEMA %I IS %L', schema_name, template.state);
END
$$;
REVOKE ALL ON FUNCTION public.portal_provision_schema(text, text) FROM PUBLIC;
"""

# Only the database's owner (or a superuser) may revoke a database privilege from PUBLIC;
# another owner role says so, and the deploy check (portal.E005) refuses the app role's
# TEMPORARY privilege until someone who may has done it. The app role's name comes in
# the transaction's setting portal.app_role (a DO block takes no parameters).
NO_TEMPORARY = r"""
DO $$ BEGIN
    EXECUTE pg_catalog.format(
        'REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', pg_catalog.current_database()
    );
    IF pg_catalog.current_setting('portal.app_role') OPERATOR(pg_catalog.<>) CURRENT_USER THEN
        EXECUTE pg_catalog.format(
            'REVOKE TEMPORARY ON DATABASE %I FROM %I',
            pg_catalog.current_database(), pg_catalog.current_setting('portal.app_role')
        );
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'Revoke TEMPORARY on this database from PUBLIC as the database owner.';
END $$
"""


def revoke_temporary(apps: Any, schema_editor: Any) -> None:
    from django.conf import settings

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_catalog.set_config('portal.app_role', %s, true)",
            [settings.PORTAL_DATABASE_APP_ROLE],
        )
        cursor.execute(NO_TEMPORARY)


def restore_temporary(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        "DO $$ BEGIN EXECUTE pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', "
        "pg_catalog.current_database()); END $$"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_sign_up"),
    ]

    operations = [
        migrations.RunSQL(sql=PROVISION, reverse_sql=migrations.RunSQL.noop),
        migrations.RunPython(revoke_temporary, restore_temporary),
    ]
