"""The vendor's staff groups: "Billing operations" decides refunds, changes plans, grants
overrides and creates organisations; "Support" only looks. Both see organisations, subscriptions and the audit log."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    ("portal", "organisation"), ("portal", "domain"),
    ("subscriptions", "plan"), ("subscriptions", "planprice"), ("subscriptions", "feature"),
    ("subscriptions", "planfeature"), ("subscriptions", "plantransition"),
    ("subscriptions", "subscription"), ("subscriptions", "planchange"),
    ("subscriptions", "refundrequest"), ("subscriptions", "entitlementoverride"),
    ("subscriptions", "auditevent"),
]
BILLING_EXTRA = [
    ("portal", "add_organisation"),
    ("subscriptions", "add_subscription"),
    ("subscriptions", "decide_refundrequest"),
    ("subscriptions", "change_subscription"),
    ("subscriptions", "add_entitlementoverride"),
    ("subscriptions", "change_entitlementoverride"),
]
GROUPS = {
    "Billing operations": [(app, f"view_{model}") for app, model in VIEW] + BILLING_EXTRA,
    "Support": [(app, f"view_{model}") for app, model in VIEW],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in codenames:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_catalogue_and_append_only_audit"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
