"""The append-only tables (audit log, ledger, invoices) refuse TRUNCATE too: row triggers
do not see it. Only a session that says so (the test suite's flush, with
PORTAL_ALLOW_TRUNCATE) may empty them."""

from django.db import migrations

TABLES = ["subscriptions_auditevent", "subscriptions_ledgerline", "subscriptions_invoice"]

REFUSE = """
CREATE FUNCTION subscriptions_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('portal.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% rows are append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION subscriptions_refuse_truncate();
"""
    for table in TABLES
)
ALLOW = "".join(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};\n" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS subscriptions_refuse_truncate();"
)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0007_seat_changes")]

    operations = [migrations.RunSQL(REFUSE, ALLOW)]
