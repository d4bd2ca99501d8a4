"""Writing the ledger and issuing invoices: the services that move money call these inside
their own transaction, so a line (and its invoice) exists exactly when its change does.
Every charge is invoiced: a period's charge, an upgrade's charge, a new cycle's charge
less the credit it uses (one invoice). Amounts are tax-exclusive; the tax is on the
invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection

from portal.models import Organisation
from subscriptions.invoicing import (
    NUMBER_SEQUENCE,
    RETURN_NUMBER_SEQUENCE,
    TAX_RATES,
    invoice_number,
    return_invoice_number,
    totals,
)
from subscriptions.models import (
    ChangeKind,
    Invoice,
    InvoiceKind,
    LedgerKind,
    LedgerLine,
    PlanChange,
    RefundRequest,
    Subscription,
)


@dataclass(frozen=True)
class Charge:
    kind: str
    amount: Decimal


def _issue_invoice(
    organisation: Organisation, currency: str, day: date, amounts: list[Decimal]
) -> Invoice:
    sums = totals(amounts, currency)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [NUMBER_SEQUENCE])
        (value,) = cursor.fetchone()
    return Invoice.objects.create(
        number=invoice_number(day, value),
        organisation=organisation,
        issued_on=day,
        currency=currency,
        buyer_name=organisation.name,
        seller_name=settings.PORTAL_INVOICE_SELLER,
        registration_number=(
            settings.PORTAL_INVOICE_REGISTRATION_NUMBER if currency == "JPY" else ""
        ),
        tax_rate=sums.tax_rate,
        subtotal=sums.subtotal,
        tax=sums.tax,
        total=sums.total,
    )


def _book_charges(
    organisation: Organisation,
    subscription: Subscription,
    charges: list[Charge],
    day: date,
    *,
    plan_change: PlanChange | None = None,
) -> Invoice | None:
    """The charges of one event for the subscription's current period, on one invoice;
    nothing for charges of nothing (a Free period, an upgrade with nothing due)."""
    assert connection.in_atomic_block, "ledger lines are written in the change's transaction"
    charges = [charge for charge in charges if charge.amount != 0]
    if not charges:
        return None
    amounts = [charge.amount for charge in charges]
    invoice = _issue_invoice(organisation, subscription.currency, day, amounts)
    for charge in charges:
        LedgerLine.objects.create(
            organisation=organisation,
            kind=charge.kind,
            amount=charge.amount,
            currency=subscription.currency,
            booked_on=day,
            period_start=subscription.period_start,
            period_end=subscription.period_end,
            plan=subscription.plan,
            seats=subscription.seats,
            cycle=subscription.cycle,
            description=f"{subscription.plan.code}, {subscription.seats} seats, "
            f"{subscription.cycle}",
            plan_change=plan_change,
            invoice=invoice,
        )
    return invoice


def book_period_charge(organisation: Organisation, subscription: Subscription) -> Invoice | None:
    """The charge for the subscription's current period (its ``amount_paid``), booked
    and invoiced on the period's first day."""
    charge = Charge(LedgerKind.PERIOD_CHARGE, subscription.amount_paid)
    return _book_charges(organisation, subscription, [charge], subscription.period_start)


def book_change(
    organisation: Organisation, subscription: Subscription, change: PlanChange, *, new_period: bool
) -> Invoice | None:
    """The money of an applied change, with ``subscription`` as it is afterwards. In the
    same period: what was due (an upgrade's charge). A new period of another cycle: its
    charge, less the credit of the old period's unused value used against it (only what
    it covers: the rest is the change's refund quote, money only once refunded). Returns
    the invoice, None when the change moved no money."""
    if not new_period:
        seats_only = change.kind == ChangeKind.SEATS
        kind = LedgerKind.SEAT_CHARGE if seats_only else LedgerKind.UPGRADE_CHARGE
        charges = [Charge(kind, change.amount_due)]
    else:
        credit_used = subscription.amount_paid - change.amount_due
        charges = [
            Charge(LedgerKind.PERIOD_CHARGE, subscription.amount_paid),
            Charge(LedgerKind.CYCLE_CREDIT, -credit_used),
        ]
    return _book_charges(organisation, subscription, charges, change.changed_on, plan_change=change)


def book_refund_paid(refund: RefundRequest, *, day: date) -> LedgerLine:
    """A refund paid: money back to the organisation, tax-exclusive in the ledger as every
    line is, with its return invoice (返還インボイス) for the amount and the tax paid on it,
    correcting the invoices paid for the period of the refund's change."""
    assert connection.in_atomic_block, "ledger lines are written in the change's transaction"
    change = refund.plan_change
    originals = (
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE,
            lines__organisation_id=refund.organisation_id,
            lines__period_start__lte=change.changed_on,
            lines__period_end__gte=change.changed_on,
        )
        .exclude(lines__plan_change=change)  # a new cycle's own invoice: money after it
        .distinct()
        .order_by("issued_on", "pk")
    )
    document = _issue_return_invoice(
        refund.organisation,
        refund.currency,
        day,
        subtotal=refund.amount,
        tax=refund.tax,
        corrects=list(originals),
    )
    return LedgerLine.objects.create(
        organisation_id=refund.organisation_id,
        kind=LedgerKind.REFUND_PAID,
        amount=refund.amount,
        currency=refund.currency,
        booked_on=day,
        description=refund.payment_reference,
        refund_request=refund,
        invoice=document,
    )


def _issue_return_invoice(
    organisation: Organisation,
    currency: str,
    day: date,
    *,
    subtotal: Decimal,
    tax: Decimal,
    corrects: list[Invoice],
) -> Invoice:
    """A return invoice (適格返還請求書) for money given back: positive amounts (what goes
    back), its own number series, and the invoices it corrects with their dates."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [RETURN_NUMBER_SEQUENCE])
        (value,) = cursor.fetchone()
    return Invoice.objects.create(
        number=return_invoice_number(day, value),
        kind=InvoiceKind.RETURN_INVOICE,
        corrects=[
            {"number": original.number, "issued_on": original.issued_on.isoformat()}
            for original in corrects
        ],
        organisation=organisation,
        issued_on=day,
        currency=currency,
        buyer_name=organisation.name,
        seller_name=settings.PORTAL_INVOICE_SELLER,
        registration_number=(
            settings.PORTAL_INVOICE_REGISTRATION_NUMBER if currency == "JPY" else ""
        ),
        tax_rate=TAX_RATES[currency],
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )
