"""Reading the ledger: what an organisation paid for its current period, its billing
history, and each organisation's sums (charges, refunds paid, balance). Every money
figure the Store, the admin and the commands show comes from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from portal.db.prepared import Prepared
from portal.models import Organisation
from subscriptions.invoicing import TAX_RATES, Totals, totals
from subscriptions.models import (
    CHARGE_KINDS,
    Invoice,
    InvoiceKind,
    LedgerKind,
    LedgerLine,
    Payment,
    PaymentStatus,
    Subscription,
)


def paid_for_period(subscription: Subscription) -> Totals:
    """What the organisation paid for its current period, tax-exclusive (``subtotal``) and
    as its documents say it, tax included (``total``): the period's charge, its upgrade and
    seat charges, each once its invoice is paid (an open or void invoice paid nothing),
    less the credit carried into it from the period it replaced and the refunds paid of
    changes made in it that kept its cycle (one query). A period is its first and last
    day: a new cycle that starts the day the old period did is another period."""
    lines = _PAID_FOR_PERIOD.all(
        organisation=subscription.organisation_id,
        start=subscription.period_start,
        end=subscription.period_end,
    )
    net, documents = Decimal(0), {}
    for line in lines:
        net += line.signed_amount
        if line.invoice is not None:
            documents[line.invoice.pk] = line.invoice
    total = sum(
        (
            -document.total if document.is_return else document.total
            for document in documents.values()
        ),
        Decimal(0),
    )
    return Totals(
        subtotal=net, tax_rate=TAX_RATES[subscription.currency], tax=total - net, total=total
    )


def _paid_lines(organisation: int, start: date, end: date) -> QuerySet[LedgerLine]:
    """The lines ``paid_for_period`` sums, with their invoices; in no order (summed)."""
    settled = Q(invoice__kind=InvoiceKind.RETURN_INVOICE) | Exists(
        Payment.objects.filter(invoice=OuterRef("invoice"), status=PaymentStatus.PAID)
    )
    return (
        LedgerLine.objects.filter(
            Q(period_start=start, period_end=end, kind__in=CHARGE_KINDS)
            | Q(
                kind=LedgerKind.REFUND_PAID,
                refund_request__plan_change__period_end=end,
                refund_request__plan_change__changed_on__gte=start,
                # A new cycle's refund is of the period it ended, not of the one it began.
                refund_request__plan_change__from_cycle=F("refund_request__plan_change__to_cycle"),
            ),
            settled,
            organisation_id=organisation,
        )
        .select_related("invoice")
        .order_by()
    )


# The Store's home reads it on every visit, and Django takes longer to compile it than
# the server to run it: its SQL is built once (portal/db/prepared.py).
_PAID_FOR_PERIOD = Prepared(_paid_lines)


def invoices_for_period(organisation_id: int, start: date, end: date) -> list[Invoice]:
    """The invoices of the charges booked for one period (its charge, upgrades, seats, a
    new cycle net of the credit it used), oldest first (one query): what a return of money
    paid for that period corrects."""
    return list(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE,
            lines__organisation_id=organisation_id,
            lines__period_start=start,
            lines__period_end=end,
        )
        .distinct()
        .order_by("issued_on", "pk")
    )


def invoiced_for_period(subscription: Subscription) -> Totals:
    """What the invoices of the subscription's current period add up to (subtotal, tax,
    total): the base of the tax that goes back with a refund of that period. A period not
    booked yet (a renewal still to run) is what its renewal will invoice."""
    found = invoices_for_period(
        subscription.organisation_id, subscription.period_start, subscription.period_end
    )
    if not found:
        return totals([subscription.amount_paid], subscription.currency)
    return Totals(
        subtotal=sum((invoice.subtotal for invoice in found), Decimal(0)),
        tax_rate=TAX_RATES[subscription.currency],
        tax=sum((invoice.tax for invoice in found), Decimal(0)),
        total=sum((invoice.total for invoice in found), Decimal(0)),
    )


def lines_of(organisation: Organisation) -> QuerySet[LedgerLine]:
    """The organisation's billing history, newest first: its charges, credits and refunds
    (the payments received are its invoices' status)."""
    lines = (
        LedgerLine.objects.filter(organisation=organisation)
        .exclude(kind=LedgerKind.PAYMENT_RECEIVED)
        .select_related("invoice")
    )
    return lines.order_by("-booked_on", "-id")


@dataclass
class Account:
    """One organisation's ledger in one currency, with its sums."""

    organisation: str
    currency: str
    lines: list[LedgerLine] = field(default_factory=list)

    @property
    def charges(self) -> Decimal:
        """What was charged and not voided, tax-exclusive (a credit counts negative)."""
        charged = CHARGE_KINDS | {LedgerKind.VOIDED}
        return sum((line.signed_amount for line in self.lines if line.kind in charged), Decimal(0))

    @property
    def received(self) -> Decimal:
        """The payments received, tax included."""
        return sum(
            (line.amount for line in self.lines if line.kind == LedgerKind.PAYMENT_RECEIVED),
            Decimal(0),
        )

    @property
    def refunds_paid(self) -> Decimal:
        return sum(
            (line.amount for line in self.lines if line.kind == LedgerKind.REFUND_PAID),
            Decimal(0),
        )

    @property
    def balance(self) -> Decimal:
        """What the organisation paid and kept: charges less refunds paid."""
        return self.charges - self.refunds_paid


def accounts(organisation: Organisation | None = None) -> list[Account]:
    """Each organisation's ledger and sums by currency, by slug (one query)."""
    lines = LedgerLine.objects.select_related(
        "organisation", "invoice", "payment__invoice", "refund_request__plan_change"
    ).order_by("organisation__slug", "currency", "booked_on", "id")
    if organisation is not None:
        lines = lines.filter(organisation=organisation)
    found: dict[tuple[str, str], Account] = {}
    for line in lines:
        key = (line.organisation.slug, line.currency)
        found.setdefault(key, Account(*key)).lines.append(line)
    return list(found.values())
