"""The ledger is append-only like the audit log, and organisations that existed before it
get the lines of their current period: its charge, the credit and the upgrade charges of
the changes made in it, and the refunds already paid (earlier periods' charges were never
recorded, so they stay out)."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION subscriptions_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger lines are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER subscriptions_ledger_append_only
    BEFORE UPDATE OR DELETE ON subscriptions_ledgerline
    FOR EACH ROW EXECUTE FUNCTION subscriptions_ledger_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS subscriptions_ledger_append_only ON subscriptions_ledgerline;
DROP FUNCTION IF EXISTS subscriptions_ledger_append_only();
"""


def backfill(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    PlanChange = apps.get_model("subscriptions", "PlanChange")
    RefundRequest = apps.get_model("subscriptions", "RefundRequest")
    LedgerLine = apps.get_model("subscriptions", "LedgerLine")
    lines = []
    for sub in Subscription.objects.select_related("plan"):
        period = {"period_start": sub.period_start, "period_end": sub.period_end}
        common = {"organisation_id": sub.organisation_id, "currency": sub.currency}
        if sub.amount_paid > 0:
            lines.append(
                LedgerLine(
                    **common,
                    **period,
                    kind="period_charge",
                    amount=sub.amount_paid,
                    booked_on=sub.period_start,
                    description=f"{sub.plan.code}, {sub.seats} seats, {sub.cycle}",
                )
            )
        changes = PlanChange.objects.filter(
            organisation_id=sub.organisation_id, changed_on__gte=sub.period_start
        ).select_related("from_plan", "to_plan").order_by("created_at", "id")
        for change in changes:
            if change.from_cycle != change.to_cycle and change.changed_on == sub.period_start:
                credit = change.amount_due - sub.amount_paid  # the new period's price less due
                if credit < 0:
                    lines.append(
                        LedgerLine(
                            **common,
                            **period,
                            kind="cycle_credit",
                            amount=credit,
                            booked_on=change.changed_on,
                            plan_change=change,
                            description=f"{change.from_cycle} → {change.to_cycle}",
                        )
                    )
            elif change.from_cycle == change.to_cycle and change.amount_due > 0:
                lines.append(
                    LedgerLine(
                        **common,
                        **period,
                        kind="upgrade_charge",
                        amount=change.amount_due,
                        booked_on=change.changed_on,
                        plan_change=change,
                        description=f"{change.from_plan.code} → {change.to_plan.code}",
                    )
                )
    for refund in RefundRequest.objects.filter(status="refunded"):
        lines.append(
            LedgerLine(
                organisation_id=refund.organisation_id,
                currency=refund.currency,
                kind="refund_paid",
                amount=refund.amount,
                booked_on=refund.updated_at.date(),
                refund_request=refund,
                description=refund.payment_reference,
            )
        )
    LedgerLine.objects.bulk_create(lines)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0004_ledger")]

    operations = [
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
