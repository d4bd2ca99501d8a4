"""Subscriptions keep their billing anchor: the day their first period began, from which
every period's start is counted (DOMAIN.md, Time). Existing ones are anchored on their
current period's start (their first was never recorded)."""

from django.db import migrations, models


def anchor_on_the_current_period(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    Subscription.objects.update(billing_anchor=models.F("period_start"))


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0008_refuse_truncate")]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="billing_anchor",
            field=models.DateField(null=True, verbose_name="billing anchor"),
        ),
        migrations.RunPython(anchor_on_the_current_period, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="subscription",
            name="billing_anchor",
            field=models.DateField(verbose_name="billing anchor"),
        ),
    ]
