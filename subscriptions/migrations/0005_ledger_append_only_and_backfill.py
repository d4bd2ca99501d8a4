"""The ledger and invoices are append-only like the audit log; invoice numbers come from a
sequence. Organisations that existed before get the lines of their current period (its
charge, the credit and the upgrade charges of the changes made in it), each charge with its
invoice, and the refunds already paid (earlier periods' charges were never recorded, so
they stay out)."""

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import migrations
from django.utils import timezone

# Invoice arithmetic as subscriptions/invoicing.py had it when this migration was written:
# a migration runs the code it was written with, whatever the application becomes.
NUMBER_SEQUENCE = "subscriptions_invoice_number_seq"
TAX_RATES = {"JPY": Decimal("0.10"), "USD": Decimal(0)}
MINOR_UNITS = {"JPY": 0, "USD": 2}


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


def totals(amounts, currency):
    subtotal = sum(amounts, Decimal(0))
    rate = TAX_RATES[currency]
    scale = 10 ** MINOR_UNITS[currency]
    tax = Decimal(math.floor(Fraction(subtotal * rate) * scale)) / scale
    return Totals(subtotal=subtotal, tax_rate=rate, tax=tax, total=subtotal + tax)


def invoice_number(issued_on, sequence_value):
    return f"INV-{issued_on:%Y}-{sequence_value:06d}"

APPEND_ONLY = f"""
CREATE FUNCTION subscriptions_money_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER subscriptions_ledger_append_only
    BEFORE UPDATE OR DELETE ON subscriptions_ledgerline
    FOR EACH ROW EXECUTE FUNCTION subscriptions_money_append_only();
CREATE TRIGGER subscriptions_invoice_append_only
    BEFORE UPDATE OR DELETE ON subscriptions_invoice
    FOR EACH ROW EXECUTE FUNCTION subscriptions_money_append_only();
CREATE SEQUENCE {NUMBER_SEQUENCE};
"""
DROP_APPEND_ONLY = f"""
DROP SEQUENCE IF EXISTS {NUMBER_SEQUENCE};
DROP TRIGGER IF EXISTS subscriptions_invoice_append_only ON subscriptions_invoice;
DROP TRIGGER IF EXISTS subscriptions_ledger_append_only ON subscriptions_ledgerline;
DROP FUNCTION IF EXISTS subscriptions_money_append_only();
"""


def _issue(apps, schema_editor, organisation, day, currency, entries):
    """One invoice for ``entries`` (each a LedgerLine's fields), and its lines."""
    Invoice = apps.get_model("subscriptions", "Invoice")
    LedgerLine = apps.get_model("subscriptions", "LedgerLine")
    sums = totals((entry["amount"] for entry in entries), currency)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [NUMBER_SEQUENCE])
        (value,) = cursor.fetchone()
    invoice = Invoice.objects.create(
        number=invoice_number(day, value),
        organisation=organisation,
        issued_on=day,
        currency=currency,
        buyer_name=organisation.name,
        seller_name=settings.PORTAL_INVOICE_SELLER,
        registration_number=settings.PORTAL_INVOICE_REGISTRATION_NUMBER if currency == "JPY" else "",
        tax_rate=sums.tax_rate,
        subtotal=sums.subtotal,
        tax=sums.tax,
        total=sums.total,
    )
    for entry in entries:
        LedgerLine.objects.create(
            organisation=organisation, currency=currency, invoice=invoice, **entry
        )


def backfill(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    PlanChange = apps.get_model("subscriptions", "PlanChange")
    RefundRequest = apps.get_model("subscriptions", "RefundRequest")
    LedgerLine = apps.get_model("subscriptions", "LedgerLine")
    current_periods = {}
    for sub in Subscription.objects.select_related("plan", "organisation").order_by("pk"):
        current_periods[sub.organisation_id] = sub.period_start
        period = {"period_start": sub.period_start, "period_end": sub.period_end}
        changes = list(
            PlanChange.objects.filter(
                organisation_id=sub.organisation_id, changed_on__gte=sub.period_start
            )
            .select_related("from_plan", "to_plan")
            .order_by("created_at", "id")
        )
        # What the period's charge bought: the plan at the period's start (before its
        # first change; or what the change that began the period chose).
        first = changes[0] if changes else None
        if first is None:
            bought = {"plan": sub.plan, "seats": sub.seats, "cycle": sub.cycle}
        elif first.from_cycle != first.to_cycle and first.changed_on == sub.period_start:
            bought = {"plan": first.to_plan, "seats": first.seats_after, "cycle": first.to_cycle}
        else:
            bought = {"plan": first.from_plan, "seats": first.seats_before, "cycle": first.from_cycle}
        description = f"{bought['plan'].code}, {bought['seats']} seats, {bought['cycle']}"
        opening = []  # the period's charge, less the credit of the change that began it
        if sub.amount_paid > 0:
            opening.append(
                {
                    **period,
                    **bought,
                    "kind": "period_charge",
                    "amount": sub.amount_paid,
                    "booked_on": sub.period_start,
                    "description": description,
                }
            )
        upgrades = []
        for change in changes:
            new_cycle = change.from_cycle != change.to_cycle
            if new_cycle and change.changed_on == sub.period_start:
                credit = change.amount_due - sub.amount_paid  # the period's price less due
                if opening and credit < 0:
                    opening[0]["plan_change"] = change
                    opening.append(
                        {
                            **period,
                            **bought,
                            "kind": "cycle_credit",
                            "amount": credit,
                            "booked_on": change.changed_on,
                            "plan_change": change,
                            "description": description,
                        }
                    )
            elif not new_cycle and change.amount_due > 0:
                upgrades.append(
                    {
                        **period,
                        "plan": change.to_plan,
                        "seats": change.seats_after,
                        "cycle": change.to_cycle,
                        "kind": "upgrade_charge",
                        "amount": change.amount_due,
                        "booked_on": change.changed_on,
                        "plan_change": change,
                        "description": f"{change.to_plan.code}, {change.seats_after} seats, "
                        f"{change.to_cycle}",
                    }
                )
        if opening:
            _issue(apps, schema_editor, sub.organisation, sub.period_start, sub.currency, opening)
        for entry in upgrades:
            day = entry["booked_on"]
            _issue(apps, schema_editor, sub.organisation, day, sub.currency, [entry])
    # Refunds paid for a change of the current period (an earlier period's charges were
    # never recorded: its refunds would outweigh them).
    paid = RefundRequest.objects.filter(status="refunded").select_related("plan_change")
    LedgerLine.objects.bulk_create(
        LedgerLine(
            organisation_id=refund.organisation_id,
            currency=refund.currency,
            kind="refund_paid",
            amount=refund.amount,
            booked_on=timezone.localtime(refund.updated_at).date(),
            refund_request=refund,
            description=refund.payment_reference,
        )
        for refund in paid.order_by("pk")
        if refund.plan_change.period_end >= current_periods.get(refund.organisation_id, date.max)
    )


def staff_see_the_money(apps, schema_editor):
    """Both staff groups (0003) see the ledger and the invoices."""
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("subscriptions")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    seen = Permission.objects.filter(
        content_type__app_label="subscriptions", codename__in=["view_ledgerline", "view_invoice"]
    )
    for group in Group.objects.filter(name__in=["Billing operations", "Support"]):
        group.permissions.add(*seen)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0004_ledger"), ("subscriptions", "0003_staff_groups")]

    operations = [
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(staff_see_the_money, migrations.RunPython.noop),
    ]
