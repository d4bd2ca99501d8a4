"""Money through the payment seam (``subscriptions.payments``), one home for each way it
moves: a change's payment held on the card as the change's last write and captured once the
change is committed (let go if it never is), so that a charge never outlives its change; a
renewal's invoice charged off-session (``collect``); invoices settled outside the portal or
by a credit; the unpaid voided; refunds paid back against the period's payments. Every
payment received is booked once, as a ledger line against its invoice."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import PaymentFailed, RefundNotPaid
from subscriptions.models import (
    Invoice,
    InvoiceKind,
    Payment,
    PaymentStatus,
    RefundRequest,
    Subscription,
)
from subscriptions.money import format_amount
from subscriptions.payments import payment_gateway
from subscriptions.services import ledger

logger = logging.getLogger(__name__)


@dataclass
class Holds:
    """The payments held inside one change's transaction (``paid_on_commit``)."""

    payments: list[Payment] = field(default_factory=list)

    def hold(
        self,
        invoice: Invoice,
        amount: Decimal,
        *,
        description: str,
        idempotency_key: str,
        day: date,
        authenticated: str = "",
    ) -> Payment:
        """Hold ``amount`` (tax included) for ``invoice`` on its organisation's card: the
        last step of the change's transaction (a refusal, ``PaymentFailed``, rolls the change
        back), recorded as a payment that exists only if the change is committed."""
        assert connection.in_atomic_block, "a hold is the last step of the change's transaction"
        held = payment_gateway().hold(
            organisation=invoice.organisation,
            amount=amount,
            currency=invoice.currency,
            description=description,
            idempotency_key=idempotency_key,
            authenticated=authenticated,
        )
        payment = Payment.objects.create(
            organisation=invoice.organisation,
            invoice=invoice,
            reference=held.reference,
            amount=amount,
            currency=invoice.currency,
            status=PaymentStatus.HELD,
            attempted_on=day,
        )
        self.payments.append(payment)
        return payment


@contextmanager
def paid_on_commit() -> Iterator[Holds]:
    """Around a change's transaction: the holds made in it are captured once it is
    committed, or let go when it is not (whatever stopped it, even the database lost at the
    commit), so that no money is taken for a change that was not made."""
    holds = Holds()
    try:
        yield holds
    except BaseException:
        for payment in holds.payments:
            release_quietly(payment.reference)
        raise
    for payment in holds.payments:
        capture(payment)


def release_quietly(reference: str) -> None:
    """Let a hold go after its change failed. If the provider cannot be told now, the hold
    lapses on its own (Stripe's after seven days) and ``reconcile_payments`` names it."""
    try:
        payment_gateway().release(reference)
    except Exception:
        logger.exception("Releasing the hold %s failed", reference)


def capture(payment: Payment) -> Payment:
    """Take a held payment whose change is committed, and book it. When the provider cannot
    be reached the payment stays held and ``run_billing`` captures it (``capture_held``)."""
    try:
        payment_gateway().capture(payment.reference)
    except Exception:
        logger.exception("Capturing %s failed; run_billing tries again", payment.reference)
        return payment
    return record_received(payment)


def record_received(payment: Payment) -> Payment:
    """The provider took the money: the payment is paid and booked, once however often it
    is said (a capture, its webhook, a retry), on the organisation's today."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("invoice", "organisation")
            .get(pk=payment.pk)
        )
        if payment.status == PaymentStatus.PAID:
            return payment
        payment.status = PaymentStatus.PAID
        payment.save(update_fields=["status", "updated_at"])
        ledger.book_payment(payment, day=clock.today(payment.organisation))
    return payment


def _payment_of(
    invoice: Invoice, status: str, *, day: date, reference: str = "", reason: str = ""
) -> Payment:
    """A payment of the invoice's whole total, recorded as it went."""
    return Payment.objects.create(
        organisation=invoice.organisation,
        invoice=invoice,
        reference=reference,
        amount=invoice.total,
        currency=invoice.currency,
        status=status,
        reason=reason[:300],
        attempted_on=day,
    )


def settled_outside(invoice: Invoice, *, day: date) -> Payment:
    """An invoice paid outside the portal (a subscription staff start for a customer who
    paid elsewhere: ``start_subscription``'s ``amount_paid``): its payment, received."""
    payment = _payment_of(invoice, PaymentStatus.PAID, day=day, reason="settled outside the portal")
    ledger.book_payment(payment, day=day)
    return payment


def settled_by_credit(invoice: Invoice, *, day: date) -> Payment:
    """A new cycle's invoice that the credit of the period it replaced covers whole: paid
    by that credit (on its return invoice), no money asked, none received (no line)."""
    reason = "settled by the credit of the period it replaced"
    return _payment_of(invoice, PaymentStatus.PAID, day=day, reason=reason)


def collect(invoice: Invoice, *, day: date) -> Payment:
    """Take an invoice's total off-session (a renewal's, committed before it is paid): the
    payment received, or failed with the processor's reason (nothing taken). An unknown
    outcome (the provider unreachable) propagates with nothing recorded: the next run asks
    again under the same key (the invoice and the attempt's number), which the provider
    answers as the first time."""
    attempt = invoice.payments.count() + 1
    try:
        charged = payment_gateway().charge(
            organisation=invoice.organisation,
            amount=invoice.total,
            currency=invoice.currency,
            description=invoice.number,
            idempotency_key=f"invoice:{invoice.number}:{attempt}",
        )
    except PaymentFailed as refusal:
        reason = str(refusal.params.get("reason", refusal))
        return _payment_of(invoice, PaymentStatus.FAILED, day=day, reason=reason)
    with transaction.atomic():
        payment = _payment_of(invoice, PaymentStatus.PAID, day=day, reference=charged.reference)
        ledger.book_payment(payment, day=day)
    return payment


def uncollected() -> list[Invoice]:
    """The invoices no payment was asked for yet (renewed in a billing run or within a
    change, the run's payment not answered), oldest first."""
    return list(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE, payments__isnull=True, voided_by__isnull=True
        )
        .select_related("organisation")
        .order_by("pk")
    )


def capture_held() -> list[tuple[str, str]]:
    """Capture the payments still held (their change committed, the capture not answered):
    ``run_billing``'s first step. Returns each one taken (organisation slug, reference)."""
    captured = []
    held = Payment.objects.filter(status=PaymentStatus.HELD).select_related("organisation")
    for payment in held.order_by("pk"):
        if capture(payment).status == PaymentStatus.PAID:
            captured.append((payment.organisation.slug, payment.reference))
    return captured


def unpaid_invoices(organisation: Organisation) -> list[Invoice]:
    """The organisation's invoices still open after a refused payment (none held or paid,
    not void), oldest first."""
    settled = Q(payments__status__in=[PaymentStatus.PAID, PaymentStatus.HELD])
    return list(
        Invoice.objects.filter(
            organisation=organisation,
            kind=InvoiceKind.INVOICE,
            voided_by__isnull=True,
            payments__status=PaymentStatus.FAILED,
        )
        .exclude(settled)
        .distinct()
        .order_by("pk")
    )


def void_unpaid(
    organisation: Organisation, subscription: Subscription, *, day: date
) -> list[Invoice]:
    """Within a move to Free while past due: each unpaid invoice void (its return invoice
    and the lines cancelling its charges), and the subscription no longer past due."""
    voided = [ledger.void_invoice(invoice, day=day) for invoice in unpaid_invoices(organisation)]
    subscription.past_due_since = None
    subscription.save(update_fields=["past_due_since", "updated_at"])
    return voided


def refund_payments(refund: RefundRequest) -> str:
    """Within the refund's move to refunded: pay its total (tax included) back through the
    provider against the payments received for its change's period, newest first, each at
    most what it took less what went back already; returns the provider's references. A
    payment not taken by the provider (settled outside the portal) cannot pay it back:
    ``RefundNotPaid``, and the request stays approved (mark it refunded by bank transfer)."""
    assert connection.in_atomic_block, "a refund is paid in its move's transaction"
    invoices = ledger.invoices_of_period(refund.organisation_id, refund.plan_change)
    payments = (
        Payment.objects.select_for_update()
        .filter(invoice__in=invoices, status=PaymentStatus.PAID)
        .exclude(reference="")
        .order_by("-pk")
    )
    left, parts = refund.amount + refund.tax, []
    for payment in payments:
        part = min(left, payment.amount - payment.refunded)
        if part > 0:
            parts.append((payment, part))
            left -= part
    if left > 0:
        raise RefundNotPaid(
            amount=format_amount(refund.amount + refund.tax, refund.currency),
            reason=_("more than the provider took for this period."),
        )
    references = []
    for payment, part in parts:
        paid_back = payment_gateway().refund(
            reference=payment.reference,
            amount=part,
            currency=payment.currency,
            idempotency_key=f"refund:{refund.pk}:{payment.pk}",
        )
        payment.refunded += part
        payment.save(update_fields=["refunded", "updated_at"])
        references.append(paid_back.reference)
    return ", ".join(references)[:100]
