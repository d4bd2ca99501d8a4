"""Row-level security on the public tables that hold an organisation's rows.

An organisation's request reaches its own schema through ``search_path``; the public tables
(subscription, plan changes, refunds, ledger, invoices, audit log, sign-ups) hold
every organisation's rows side by side, and only the code's filters kept them apart. Now the
database does too: while the connection's first schema is an organisation's, the app role
sees and writes only that organisation's rows of these tables (a query that forgets its
filter, or asks for another organisation's id, gets nothing and may add nothing). On the
public schema (the public site, the back office, commands, workers between organisations)
every row is visible, as before. The owner role, which owns the tables, is not subject to
the policies (deploy migrations). Not ``portal_domain``: host names are public, and a
request finds its organisation by its host before it leaves the previous request's schema.

``portal_path_organisation()`` reads the organisation from the search path itself, so no
setting can drift from the schema: NULL on the public schema, the organisation's id on its
schema, 0 (no row) on any other schema. Measured cost: ``bench/isolation.py``. Self-contained:
a migration runs the code it was written with."""

from __future__ import annotations

from django.db import migrations

# The tables, and the column naming the organisation.
TABLES = {
    "subscriptions_subscription": "organisation_id",
    "subscriptions_entitlementoverride": "organisation_id",
    "subscriptions_planchange": "organisation_id",
    "subscriptions_refundrequest": "organisation_id",
    "subscriptions_scheduledchange": "organisation_id",
    "subscriptions_ledgerline": "organisation_id",
    "subscriptions_invoice": "organisation_id",
    "subscriptions_auditevent": "organisation_id",
    "portal_signup": "organisation_id",
}

FUNCTION = r"""
CREATE FUNCTION public.portal_path_organisation() RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
-- The organisation whose schema comes first in the search path: NULL on the public schema
-- (every row), 0 on a schema that is no organisation's (no row). Every name is qualified:
-- the caller's path decides nothing else here. PL/pgSQL keeps its query's plan for the
-- session (a SQL function's would be planned again by every statement: 0.7 ms).
DECLARE
    first_schema text := (pg_catalog.current_schemas(false))[1];
    found bigint;
BEGIN
    IF first_schema OPERATOR(pg_catalog.=) 'public' THEN
        RETURN NULL;
    END IF;
    SELECT o.id INTO found FROM public.portal_organisation AS o
        WHERE o.schema_name OPERATOR(pg_catalog.=) first_schema;
    RETURN COALESCE(found, 0);
END
$$;
"""

POLICY = """
ALTER TABLE public.{table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY portal_one_organisation ON public.{table}
    USING ((SELECT public.portal_path_organisation()) IS NULL
           OR {column} OPERATOR(pg_catalog.=) (SELECT public.portal_path_organisation()))
    WITH CHECK ((SELECT public.portal_path_organisation()) IS NULL
           OR {column} OPERATOR(pg_catalog.=) (SELECT public.portal_path_organisation()));
"""

UNDO = """
DROP POLICY portal_one_organisation ON public.{table};
ALTER TABLE public.{table} DISABLE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0014_verbose_names"),
        ("portal", "0006_sign_up_holds_only_once_verified"),
    ]

    operations = [
        migrations.RunSQL(
            sql=FUNCTION, reverse_sql="DROP FUNCTION public.portal_path_organisation()"
        ),
        *[
            migrations.RunSQL(
                sql=POLICY.format(table=table, column=column),
                reverse_sql=UNDO.format(table=table),
            )
            for table, column in TABLES.items()
        ],
    ]
