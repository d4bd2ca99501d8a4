from django.db import migrations, models


def count_seats(apps, schema_editor):
    """Each organisation's active users, counted once in its own schema (from now on the
    services keep the number)."""
    Subscription = apps.get_model("subscriptions", "Subscription")
    quote = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        for subscription in Subscription.objects.select_related("organisation"):
            schema = subscription.organisation.schema_name
            cursor.execute("SELECT to_regclass(%s)", [f"{quote(schema)}.accounts_user"])
            if cursor.fetchone()[0] is None:  # a schema not created (yet)
                continue
            cursor.execute(f"SELECT count(*) FROM {quote(schema)}.accounts_user WHERE is_active")
            subscription.seats_in_use = cursor.fetchone()[0]
            subscription.save(update_fields=["seats_in_use"])


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0010_scheduled_change")]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="seats_in_use",
            field=models.PositiveIntegerField(default=0, verbose_name="seats in use"),
        ),
        migrations.RunPython(count_seats, migrations.RunPython.noop),
    ]
