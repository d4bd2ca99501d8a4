# The schema templates (portal/schemas/provisioning.py): a plain table, not a model, so
# that the test suite's flush (which empties the tables of models) keeps it.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql="""
                CREATE TABLE portal_schema_template (
                    key varchar(64) PRIMARY KEY,
                    script text NOT NULL,
                    created_at timestamp with time zone NOT NULL DEFAULT now()
                )
            """,
            reverse_sql="DROP TABLE portal_schema_template",
        ),
    ]
