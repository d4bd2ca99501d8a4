"""An organisation's deletion (``organisations.deletion``): its steps' table, and the two
things only the owner may do, each for an organisation being deleted only (closed, its
deletion started and not finished), through a SECURITY DEFINER function the app role may
call:

- ``portal_forget_audit_people(organisation, people)``: the audit log is append-only (a
  trigger refuses UPDATE to anyone), except this: within the function, the events of that
  organisation have the people's email addresses (``people``: each address and its
  placeholder, ``user-<id>@deleted.invalid`` or ``contact-<n>@deleted.invalid``) replaced,
  as actor and in the values before and after, and nothing else of them changes;
- ``portal_drop_organisation_schema(organisation)``: its schema is dropped.

Self-contained: a migration runs the code it was written with."""

import django.db.models.deletion
import django.utils.timezone
from typing import Any

from django.db import migrations, models



# Whether an organisation is being deleted: closed, its deletion started, not finished.
BEING_DELETED = r"""
CREATE FUNCTION public.portal_require_being_deleted(organisation bigint) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
-- The schema of an organisation being deleted, or an error: nothing else is touched.
DECLARE
    organisation_schema text;
BEGIN
    SELECT o.schema_name INTO organisation_schema
        FROM public.portal_organisation AS o
        JOIN public.organisations_deletion AS d ON d.organisation_id OPERATOR(pg_catalog.=) o.id
        WHERE o.id OPERATOR(pg_catalog.=) organisation
          AND o.closed_on IS NOT NULL AND d.finished_at IS NULL;
    IF NOT FOUND OR organisation_schema OPERATOR(pg_catalog.!~) '^org_[a-z0-9_]{1,59}$' THEN
        RAISE EXCEPTION 'Organisation % is not being deleted', organisation
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN organisation_schema;
END
$$;
REVOKE ALL ON FUNCTION public.portal_require_being_deleted(bigint) FROM PUBLIC;
"""

FORGET = r"""
CREATE FUNCTION public.portal_without_words(doc jsonb, keys text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public, pg_temp AS $$
    -- An object's string values under ``keys`` emptied.
    SELECT CASE WHEN pg_catalog.jsonb_typeof(doc) OPERATOR(pg_catalog.=) 'object' THEN (
        SELECT pg_catalog.jsonb_object_agg(
            item.key,
            CASE WHEN item.key OPERATOR(pg_catalog.=) ANY (keys)
                      AND pg_catalog.jsonb_typeof(item.value) OPERATOR(pg_catalog.=) 'string'
                 THEN pg_catalog.to_jsonb(''::text) ELSE item.value END)
        FROM pg_catalog.jsonb_each(doc) AS item)
    ELSE doc END
$$;
REVOKE ALL ON FUNCTION public.portal_without_words(jsonb, text[]) FROM PUBLIC;

CREATE FUNCTION public.portal_forget_audit_people(organisation bigint, people jsonb)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    pair record;
    old_value text;
    new_value text;
    changed integer := 0;
    count integer;
    PERSONAL CONSTANT text[] := ARRAY['attention', 'postal_address', 'full_name', 'text'];
BEGIN
    PERFORM public.portal_require_being_deleted(organisation);
    IF people IS NULL OR pg_catalog.jsonb_typeof(people) OPERATOR(pg_catalog.<>) 'object' THEN
        RAISE EXCEPTION 'people: an object of address -> placeholder'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_catalog.set_config(
        'portal.forgetting_organisation', organisation::text, true
    );
    FOR pair IN SELECT * FROM pg_catalog.jsonb_each_text(people) LOOP
        IF pair.value OPERATOR(pg_catalog.!~) '^(user|contact)-[0-9]+@deleted\.invalid$' THEN
            RAISE EXCEPTION 'Not a placeholder: %', pair.value
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- Whole JSON strings only: "a@b.example" and its placeholder, quoted.
        old_value := pg_catalog.to_jsonb(pair.key)::text;
        new_value := pg_catalog.to_jsonb(pair.value)::text;
        UPDATE public.subscriptions_auditevent AS e SET
            actor_email = CASE WHEN e.actor_email OPERATOR(pg_catalog.=) pair.key
                          THEN pair.value ELSE e.actor_email END,
            before = pg_catalog.replace(e.before::text, old_value, new_value)::jsonb,
            after = pg_catalog.replace(e.after::text, old_value, new_value)::jsonb
        WHERE e.organisation_id OPERATOR(pg_catalog.=) organisation
          AND (e.actor_email OPERATOR(pg_catalog.=) pair.key
               OR pg_catalog.strpos(e.before::text, old_value) OPERATOR(pg_catalog.>) 0
               OR pg_catalog.strpos(e.after::text, old_value) OPERATOR(pg_catalog.>) 0);
        GET DIAGNOSTICS count = ROW_COUNT;
        changed := changed OPERATOR(pg_catalog.+) count;
    END LOOP;
    -- What people wrote of themselves in the values before and after (a department or a
    -- person to address invoices to, a postal address, a name, feedback's text): emptied.
    UPDATE public.subscriptions_auditevent AS e SET
        before = public.portal_without_words(e.before, PERSONAL),
        after = public.portal_without_words(e.after, PERSONAL)
    WHERE e.organisation_id OPERATOR(pg_catalog.=) organisation
      AND (e.before OPERATOR(pg_catalog.?|) PERSONAL
           OR e.after OPERATOR(pg_catalog.?|) PERSONAL);
    GET DIAGNOSTICS count = ROW_COUNT;
    changed := changed OPERATOR(pg_catalog.+) count;
    PERFORM pg_catalog.set_config('portal.forgetting_organisation', '', true);
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION public.portal_forget_audit_people(bigint, jsonb) FROM PUBLIC;

CREATE FUNCTION public.portal_drop_organisation_schema(organisation bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
-- Drop the schema of an organisation being deleted; whether it was there.
DECLARE
    schema text := public.portal_require_being_deleted(organisation);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) schema) THEN
        RETURN false;
    END IF;
    EXECUTE pg_catalog.format('DROP SCHEMA %I CASCADE', schema);
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION public.portal_drop_organisation_schema(bigint) FROM PUBLIC;

-- The audit log stays append-only, but for the sanctioned forgetting above: only a role
-- that may UPDATE the table (its owner: the function) and only that organisation's events,
-- their addresses alone.
CREATE OR REPLACE FUNCTION subscriptions_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
            AND pg_catalog.current_setting('portal.forgetting_organisation', true)
                = OLD.organisation_id::text
            AND NEW.id = OLD.id
            AND NEW.organisation_id = OLD.organisation_id
            AND NEW.action = OLD.action
            AND NEW.target = OLD.target
            AND NEW.actor_kind = OLD.actor_kind
            AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
            AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

UNFORGET = r"""
CREATE OR REPLACE FUNCTION subscriptions_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP FUNCTION public.portal_drop_organisation_schema(bigint);
DROP FUNCTION public.portal_forget_audit_people(bigint, jsonb);
DROP FUNCTION public.portal_without_words(jsonb, text[]);
DROP FUNCTION public.portal_require_being_deleted(bigint);
"""

# A deletion's row is its organisation's (subscriptions/migrations/0015): on its schema the
# app role sees only its own.
ROW_LEVEL_SECURITY = """
ALTER TABLE public.organisations_deletion ENABLE ROW LEVEL SECURITY;
CREATE POLICY portal_one_organisation ON public.organisations_deletion
    USING ((SELECT public.portal_path_organisation()) IS NULL
           OR organisation_id OPERATOR(pg_catalog.=) (SELECT public.portal_path_organisation()))
    WITH CHECK ((SELECT public.portal_path_organisation()) IS NULL
           OR organisation_id OPERATOR(pg_catalog.=) (SELECT public.portal_path_organisation()));
"""
NO_ROW_LEVEL_SECURITY = """
DROP POLICY portal_one_organisation ON public.organisations_deletion;
ALTER TABLE public.organisations_deletion DISABLE ROW LEVEL SECURITY;
"""


def grant(apps: Any, schema_editor: Any) -> None:
    """The app role may call the two functions (not the check they share)."""
    from django.conf import settings

    role = '"' + str(settings.PORTAL_DATABASE_APP_ROLE).replace('"', '""') + '"'
    schema_editor.execute(
        f"GRANT EXECUTE ON FUNCTION public.portal_forget_audit_people(bigint, jsonb), "
        f"public.portal_drop_organisation_schema(bigint) TO {role}"
    )



class Migration(migrations.Migration):

    dependencies = [
        ('organisations', '0001_data_exports'),
        ('portal', '0011_deletion'),
    ]

    operations = [
        migrations.CreateModel(
            name='Deletion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('former_slug', models.CharField(db_index=True, max_length=40, verbose_name='address')),
                ('step', models.CharField(choices=[('started', 'started: its address no longer answers'), ('people', 'its people forgotten'), ('done', 'done: its schema dropped')], default='started', max_length=10, verbose_name='step')),
                ('reason', models.TextField(blank=True, verbose_name='reason')),
                ('early', models.BooleanField(verbose_name='before the grace period')),
                ('requested_by', models.CharField(blank=True, max_length=254, verbose_name='requested by')),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='started')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('address_free_on', models.DateField(blank=True, null=True, verbose_name='address free again on')),
                ('organisation', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='deletion', to='portal.organisation', verbose_name='organisation')),
            ],
            options={
                'verbose_name': 'deletion',
                'verbose_name_plural': 'deletions',
                'ordering': ['-started_at', '-pk'],
            },
        ),
        migrations.RunSQL(ROW_LEVEL_SECURITY, NO_ROW_LEVEL_SECURITY),
        migrations.RunSQL(BEING_DELETED + FORGET, UNFORGET),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
