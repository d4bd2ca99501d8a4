"""The demo catalogue of DOMAIN.md (illustrative figures, editable by staff), the
seed's five downgrades and every upgrade, and the database rule that audit events are
append-only."""

from decimal import Decimal

from django.db import migrations

PLANS = [
    # code, English, Japanese, rank, seat cap
    ("free", "Free", "無料", 0, 3),
    ("standard", "Standard", "スタンダード", 1, None),
    ("professional", "Professional", "プロフェッショナル", 2, None),
    ("enterprise", "Enterprise", "エンタープライズ", 3, None),
]

# Per agent seat per month: (annual rate, monthly rate).
PRICES = {
    "JPY": {"free": (0, 0), "standard": (1680, 2400), "professional": (2760, 4200), "enterprise": (4800, 6000)},
    "USD": {"free": (0, 0), "standard": ("14.00", "20.00"), "professional": ("23.00", "35.00"), "enterprise": ("40.00", "50.00")},
}

UNLIMITED = None
OFF = "off"
# code, English, Japanese, kind, values on free/standard/professional/enterprise.
FEATURES = [
    ("departments", "Departments", "部門", "limit", (1, 1, 10, 50)),
    ("custom_fields", "Custom fields per module", "モジュールごとのカスタム項目", "limit", (OFF, 50, 150, 230)),
    ("sla_policies", "SLA policies", "SLAポリシー", "limit", (OFF, 4, 10, UNLIMITED)),
    ("webhooks", "Webhooks", "Webhook", "limit", (OFF, 5, 10, UNLIMITED)),
    ("email_ticketing", "Email ticketing", "メールによる問い合わせ管理", "switch", (True, True, True, True)),
    ("help_centre", "Help centre", "ヘルプセンター", "switch", (True, True, True, True)),
    ("social_channels", "Social channels", "ソーシャルチャネル", "switch", (False, True, True, True)),
    ("community_forums", "Community forums", "コミュニティフォーラム", "switch", (False, True, True, True)),
    ("blueprints", "Blueprints", "ブループリント", "switch", (False, False, True, True)),
    ("multi_department", "Multi-department", "複数部門", "switch", (False, False, True, True)),
    ("zia", "Zia (AI)", "Zia（AI）", "switch", (False, False, True, True)),
    ("live_chat", "Live chat", "ライブチャット", "switch", (False, False, False, True)),
    ("multi_brand_help_centre", "Multi-brand help centre", "マルチブランドのヘルプセンター", "switch", (False, False, False, True)),
    ("custom_modules", "Custom modules", "カスタムモジュール", "switch", (False, False, False, True)),
    ("sandbox", "Sandbox", "サンドボックス", "switch", (False, False, False, True)),
]

# The seed article's five downgrades, exactly.
DOWNGRADES = [
    ("enterprise", "professional"),
    ("professional", "standard"),
    ("enterprise", "free"),
    ("professional", "free"),
    ("standard", "free"),
]

APPEND_ONLY = """
CREATE FUNCTION subscriptions_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER subscriptions_audit_append_only
    BEFORE UPDATE OR DELETE ON subscriptions_auditevent
    FOR EACH ROW EXECUTE FUNCTION subscriptions_audit_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS subscriptions_audit_append_only ON subscriptions_auditevent;
DROP FUNCTION IF EXISTS subscriptions_audit_append_only();
"""


def load_catalogue(apps, schema_editor):
    Plan = apps.get_model("subscriptions", "Plan")
    PlanPrice = apps.get_model("subscriptions", "PlanPrice")
    Feature = apps.get_model("subscriptions", "Feature")
    PlanFeature = apps.get_model("subscriptions", "PlanFeature")
    PlanTransition = apps.get_model("subscriptions", "PlanTransition")

    plans = {}
    for code, name_en, name_ja, rank, seat_cap in PLANS:
        plans[code] = Plan.objects.create(code=code, name_en=name_en, name_ja=name_ja, rank=rank, seat_cap=seat_cap)
    for currency, rates in PRICES.items():
        for code, (annual, monthly) in rates.items():
            PlanPrice.objects.create(plan=plans[code], cycle="annual", currency=currency, per_seat_month=Decimal(annual))
            PlanPrice.objects.create(plan=plans[code], cycle="monthly", currency=currency, per_seat_month=Decimal(monthly))
    for position, (code, name_en, name_ja, kind, values) in enumerate(FEATURES):
        feature = Feature.objects.create(code=code, name_en=name_en, name_ja=name_ja, kind=kind, position=position)
        for plan_code, value in zip(("free", "standard", "professional", "enterprise"), values, strict=True):
            if kind == "switch":
                PlanFeature.objects.create(plan=plans[plan_code], feature=feature, enabled=value)
            else:
                PlanFeature.objects.create(
                    plan=plans[plan_code], feature=feature, enabled=value != OFF,
                    limit=None if value in (OFF, UNLIMITED) else value,
                )
    for from_code, to_code in DOWNGRADES:
        PlanTransition.objects.create(from_plan=plans[from_code], to_plan=plans[to_code], kind="downgrade")
    for low in plans.values():
        for high in plans.values():
            if high.rank > low.rank:
                PlanTransition.objects.create(from_plan=low, to_plan=high, kind="upgrade")


def subscribe_existing_organisations(apps, schema_editor):
    """Organisations created before subscriptions existed start on Free today."""
    import datetime

    Organisation = apps.get_model("portal", "Organisation")
    Subscription = apps.get_model("subscriptions", "Subscription")
    free = apps.get_model("subscriptions", "Plan").objects.get(code="free")
    today = datetime.date.today()
    for organisation in Organisation.objects.filter(subscription__isnull=True):
        Subscription.objects.create(
            organisation=organisation, plan=free, cycle="monthly", seats=free.seat_cap,
            currency="JPY", period_start=today, period_end=today + datetime.timedelta(days=30),
            amount_paid=0, paid_value=0,
        )


def unload_catalogue(apps, schema_editor):
    for model in ("PlanTransition", "PlanFeature", "Feature", "PlanPrice", "Plan"):
        apps.get_model("subscriptions", model).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial"), ("portal", "0001_initial")]

    operations = [
        migrations.RunPython(load_catalogue, unload_catalogue),
        migrations.RunPython(subscribe_existing_organisations, migrations.RunPython.noop),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
