"""An audit event the app writes carries the database's clock: a BEFORE INSERT trigger sets
``created_at``, so that the app role (portal/db/roles.py) cannot write an event dated in the
past. Only the table's owner (a data migration, a backfill) may give another time."""

from django.db import migrations

STAMP = """
CREATE FUNCTION subscriptions_audit_stamp() RETURNS trigger AS $$
BEGIN
    IF NOT pg_has_role(
        current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER'
    ) THEN
        NEW.created_at := clock_timestamp();
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER subscriptions_audit_stamp BEFORE INSERT ON subscriptions_auditevent
    FOR EACH ROW EXECUTE FUNCTION subscriptions_audit_stamp();
"""
UNSTAMP = """
DROP TRIGGER IF EXISTS subscriptions_audit_stamp ON subscriptions_auditevent;
DROP FUNCTION IF EXISTS subscriptions_audit_stamp();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0012_append_only_for_the_app_role"),
    ]

    operations = [migrations.RunSQL(sql=STAMP, reverse_sql=UNSTAMP)]
