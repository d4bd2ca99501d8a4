"""The audit log becomes an app of its own, below every app that writes it (it was part of
the subscriptions app). Only Django's picture of the models moves: the table, its rows, its
append-only and clock triggers and its row-level security stay as they are, under the name
they had (``subscriptions_auditevent``). The content type moves with it, so the staff
groups' permission to see the log (and the admin's history) keep pointing at it."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def move_content_type(from_app, to_app):
    def move(apps, schema_editor):
        ContentType = apps.get_model('contenttypes', 'ContentType')
        ContentType.objects.using(schema_editor.connection.alias).filter(
            app_label=from_app, model='auditevent'
        ).update(app_label=to_app)

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('portal', '0007_test_clock'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('subscriptions', '0020_subscription_stamp'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('actor_kind', models.CharField(choices=[('user', 'Organisation user'), ('staff', 'Vendor staff'), ('command', 'Command')], max_length=10, verbose_name='actor kind')),
                ('actor_id', models.BigIntegerField(blank=True, null=True)),
                ('actor_email', models.CharField(blank=True, max_length=254, verbose_name='actor')),
                ('action', models.CharField(db_index=True, max_length=50, verbose_name='action')),
                ('target', models.CharField(blank=True, max_length=100, verbose_name='target')),
                ('before', models.JSONField(blank=True, default=dict, verbose_name='before')),
                ('after', models.JSONField(blank=True, default=dict, verbose_name='after')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='when')),
                ('organisation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='portal.organisation', verbose_name='organisation')),
            ],
            options={
                'verbose_name': 'audit event',
                'verbose_name_plural': 'audit events',
                'db_table': 'subscriptions_auditevent',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['organisation', '-created_at'], name='subscriptions_audit_org')],
            },
        ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type('subscriptions', 'audit'), move_content_type('audit', 'subscriptions')),
    ]
