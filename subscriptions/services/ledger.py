"""Writing the ledger and issuing invoices: the services that move money call these inside
their own transaction, so a line (and its document) exists exactly when its change does.
Every charge is invoiced (a period's charge, an upgrade's, a seat purchase's, a new cycle's)
and every return of money has its return invoice (a refund paid, the credit a new cycle
uses). Amounts are tax-exclusive; the tax is on the documents."""

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
    Payment,
    PlanChange,
    RefundRequest,
    Subscription,
)
from subscriptions.money import CURRENCIES
from subscriptions.selectors.invoices import ChangeDocuments, billing_details_of


@dataclass(frozen=True)
class Charge:
    kind: str
    amount: Decimal


def _issue_invoice(
    organisation: Organisation, currency: str, day: date, amounts: list[Decimal]
) -> Invoice:
    sums = totals(amounts, currency)
    return _issue(organisation, currency, day, subtotal=sums.subtotal, tax=sums.tax)


def _issue(
    organisation: Organisation,
    currency: str,
    day: date,
    *,
    subtotal: Decimal,
    tax: Decimal,
    corrects: list[Invoice] | None = None,
    voids: Invoice | None = None,
) -> Invoice:
    """An invoice, or with ``corrects`` a return invoice (its own number series, positive
    amounts: what goes back, and the originals with their dates), numbered from its
    sequence, with the seller and the buyer as they are now."""
    returns = corrects is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s)", [RETURN_NUMBER_SEQUENCE if returns else NUMBER_SEQUENCE]
        )
        (value,) = cursor.fetchone()
    return Invoice.objects.create(
        number=(return_invoice_number if returns else invoice_number)(day, value),
        kind=InvoiceKind.RETURN_INVOICE if returns else InvoiceKind.INVOICE,
        corrects=[
            {"number": original.number, "issued_on": original.issued_on.isoformat()}
            for original in corrects or []
        ],
        organisation=organisation,
        issued_on=day,
        currency=currency,
        voids=voids,
        **_buyer(organisation),
        seller_name=settings.PORTAL_INVOICE_SELLER,
        registration_number=(
            settings.PORTAL_INVOICE_REGISTRATION_NUMBER
            if CURRENCIES[currency].qualified_invoices
            else ""
        ),
        tax_rate=TAX_RATES[currency],
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )


def _buyer(organisation: Organisation) -> dict[str, str]:
    """The buyer as a new document names them: the organisation's billing details as they
    are now (copied: an issued document never changes), its name when it set none."""
    details = billing_details_of(organisation)
    return {
        "buyer_name": details.addressee or organisation.name,
        "buyer_attention": details.attention,
        "buyer_address": details.postal_address,
        "buyer_registration_number": details.registration_number,
    }


def _book_charges(
    organisation: Organisation,
    subscription: Subscription,
    charges: list[Charge],
    day: date,
    *,
    plan_change: PlanChange | None = None,
    issued_on: date | None = None,
) -> Invoice | None:
    """The charges of one event for the subscription's current period, booked on ``day``,
    on one invoice issued on ``issued_on`` (default ``day``); nothing for charges of
    nothing (a Free period, an upgrade with nothing due)."""
    assert connection.in_atomic_block, "ledger lines are written in the change's transaction"
    charges = [charge for charge in charges if charge.amount != 0]
    if not charges:
        return None
    amounts = [charge.amount for charge in charges]
    invoice = _issue_invoice(organisation, subscription.currency, issued_on or day, amounts)
    for charge in charges:
        _book_line(
            organisation, subscription, charge, day, plan_change=plan_change, document=invoice
        )
    return invoice


def _book_line(
    organisation: Organisation,
    subscription: Subscription,
    charge: Charge,
    day: date,
    *,
    plan_change: PlanChange | None,
    document: Invoice,
) -> LedgerLine:
    """One line of the subscription's current period, on its document."""
    return LedgerLine.objects.create(
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
        description=f"{subscription.plan.code}, {subscription.seats} seats, {subscription.cycle}",
        plan_change=plan_change,
        invoice=document,
    )


def book_period_charge(
    organisation: Organisation, subscription: Subscription, *, issued_on: date
) -> Invoice | None:
    """The charge for the subscription's current period (its ``amount_paid``), booked on
    the period's first day and invoiced on ``issued_on``, the day the invoice is made: a
    billing run catching up with days it missed issues today's invoices today, so that
    invoice numbers follow their dates."""
    charge = Charge(LedgerKind.PERIOD_CHARGE, subscription.amount_paid)
    return _book_charges(
        organisation, subscription, [charge], subscription.period_start, issued_on=issued_on
    )


def book_change(
    organisation: Organisation,
    subscription: Subscription,
    change: PlanChange,
    *,
    new_period: bool,
    credit_tax: Decimal = Decimal(0),
) -> ChangeDocuments:
    """The money of an applied change, with ``subscription`` as it is afterwards. In the
    same period: what was due (an upgrade's or a seat purchase's charge), on its invoice. A
    new period of another cycle: its charge on its invoice, and the credit of the old
    period's unused value used against it (only what it covers: the rest is the change's
    refund quote, money only once refunded) on a return invoice correcting the old period's
    invoices, its tax (``credit_tax``, as the change's preview promised it) going back with
    it. Returns both documents (None where nothing)."""
    day = change.changed_on
    if not new_period:
        seats_only = change.kind == ChangeKind.SEATS
        kind = LedgerKind.SEAT_CHARGE if seats_only else LedgerKind.UPGRADE_CHARGE
        invoice = _book_charges(
            organisation, subscription, [Charge(kind, change.amount_due)], day, plan_change=change
        )
        return ChangeDocuments(invoice=invoice, returned=None)
    charge = Charge(LedgerKind.PERIOD_CHARGE, subscription.amount_paid)
    invoice = _book_charges(organisation, subscription, [charge], day, plan_change=change)
    credit_used = subscription.amount_paid - change.amount_due
    if credit_used <= 0:
        return ChangeDocuments(invoice=invoice, returned=None)
    originals = invoices_of_period(organisation.pk, change)
    returned = _issue(
        organisation,
        subscription.currency,
        day,
        subtotal=credit_used,
        tax=credit_tax,
        corrects=originals,
    )
    credit = Charge(LedgerKind.CYCLE_CREDIT, -credit_used)
    _book_line(organisation, subscription, credit, day, plan_change=change, document=returned)
    return ChangeDocuments(invoice=invoice, returned=returned)


def invoices_of_period(organisation_id: int, change: PlanChange) -> list[Invoice]:
    """The invoices paid for the period ``change`` was made in (its lines cover the
    change's day), not counting what the change itself issued (a new cycle's invoice)."""
    return list(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE,
            lines__organisation_id=organisation_id,
            lines__period_start__lte=change.changed_on,
            lines__period_end__gte=change.changed_on,
        )
        .exclude(lines__plan_change=change)
        .distinct()
        .order_by("issued_on", "pk")
    )


def book_refund_paid(refund: RefundRequest, *, day: date) -> LedgerLine:
    """A refund paid: money back to the organisation, tax-exclusive in the ledger as every
    line is, with its return invoice (返還インボイス) for the amount and the tax paid on it,
    correcting the invoices paid for the period of the refund's change."""
    assert connection.in_atomic_block, "ledger lines are written in the change's transaction"
    originals = invoices_of_period(refund.organisation_id, refund.plan_change)
    document = _issue(
        refund.organisation,
        refund.currency,
        day,
        subtotal=refund.amount,
        tax=refund.tax,
        corrects=originals,
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


def book_payment(payment: Payment, *, day: date) -> LedgerLine:
    """A payment received: the money that came in (tax included), against its invoice (the
    payment's: the invoice's own lines are what it bills) and for the period of that
    invoice's charges."""
    assert connection.in_atomic_block, "ledger lines are written in the payment's transaction"
    charge = payment.invoice.lines.filter(period_start__isnull=False).order_by("pk").first()
    return LedgerLine.objects.create(
        organisation_id=payment.organisation_id,
        kind=LedgerKind.PAYMENT_RECEIVED,
        amount=payment.amount,
        currency=payment.currency,
        booked_on=day,
        period_start=charge.period_start if charge is not None else None,
        period_end=charge.period_end if charge is not None else None,
        description=payment.reference,
        payment=payment,
    )


def void_invoice(invoice: Invoice, *, day: date) -> Invoice:
    """An invoice never paid, cancelled: its return invoice (voiding it: the same amounts
    and tax, correcting it) and a line cancelling each of its charges, for their periods."""
    assert connection.in_atomic_block, "ledger lines are written in the change's transaction"
    organisation = invoice.organisation
    returned = _issue(
        organisation,
        invoice.currency,
        day,
        subtotal=invoice.subtotal,
        tax=invoice.tax,
        corrects=[invoice],
        voids=invoice,
    )
    for line in invoice.lines.all():
        LedgerLine.objects.create(
            organisation=organisation,
            kind=LedgerKind.VOIDED,
            amount=line.amount,
            currency=line.currency,
            booked_on=day,
            period_start=line.period_start,
            period_end=line.period_end,
            plan=line.plan,
            seats=line.seats,
            cycle=line.cycle,
            description=f"{invoice.number} void",
            invoice=returned,
        )
    return returned
