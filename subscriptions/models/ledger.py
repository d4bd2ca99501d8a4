"""The ledger: every money movement of an organisation, one line each, append-only (a
trigger refuses UPDATE and DELETE). What an organisation paid, for a period or in all,
is a sum of its lines, never a number kept apart that could disagree."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from subscriptions.models.catalogue import BillingCycle, Currency, Plan
from subscriptions.models.changes import PlanChange, RefundRequest
from subscriptions.models.invoices import Invoice
from subscriptions.money import format_amount


class LedgerKind(models.TextChoices):
    PERIOD_CHARGE = "period_charge", _("Period charge")
    UPGRADE_CHARGE = "upgrade_charge", _("Upgrade charge")
    SEAT_CHARGE = "seat_charge", _("Seat charge")
    CYCLE_CREDIT = "cycle_credit", _("Credit carried into a new cycle")
    REFUND_PAID = "refund_paid", _("Refund paid")
    # Money received from the organisation against an invoice, tax included.
    PAYMENT_RECEIVED = "payment", _("Payment received")
    # The charges of an invoice never paid, cancelled with it (on its return invoice):
    # stored positive, as a refund paid is.
    VOIDED = "voided", _("Invoice voided")


# What the organisation was charged (a credit counts negative); refunds paid and payments
# received are money moving, not charges.
CHARGE_KINDS = frozenset(
    kind
    for kind in LedgerKind
    if kind not in (LedgerKind.REFUND_PAID, LedgerKind.PAYMENT_RECEIVED, LedgerKind.VOIDED)
)


class LedgerLine(models.Model):
    """One money movement in the subscription's currency. Charges, credits and refunds are
    tax-exclusive (the tax is on their documents); a payment received is the money that
    came in, tax included, for the period of its invoice. A credit carried into a new cycle
    is negative; every other amount is positive."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="ledger_lines",
        verbose_name=_("organisation"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=LedgerKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    booked_on = models.DateField(_("date"))
    # The billing period a charge is for (a refund paid belongs to none).
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=200)
    # What a charge is for: the plan, seats and cycle of its period (none for a refund).
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("plan"),
    )
    seats = models.PositiveIntegerField(_("seats"), null=True, blank=True)
    cycle = models.CharField(
        _("billing cycle"), max_length=10, choices=BillingCycle.choices, blank=True
    )
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
        verbose_name=_("invoice"),
    )
    plan_change = models.ForeignKey(
        PlanChange,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_lines",
        verbose_name=_("plan change"),
    )
    refund_request = models.ForeignKey(
        RefundRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_lines",
        verbose_name=_("refund request"),
    )
    # A payment received is against its payment's invoice (``document``).
    payment = models.ForeignKey(
        "subscriptions.Payment",
        on_delete=models.PROTECT,
        db_index=False,  # the unique constraint below indexes it
        null=True,
        blank=True,
        related_name="ledger_lines",
        verbose_name=_("payment"),
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger line")
        verbose_name_plural = _("ledger lines")
        ordering = ["booked_on", "id"]
        indexes = [
            models.Index(fields=["organisation", "booked_on"], name="subscriptions_ledger_org")
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind=LedgerKind.CYCLE_CREDIT) & Q(amount__lt=0))
                | (~Q(kind=LedgerKind.CYCLE_CREDIT) & Q(amount__gt=0)),
                name="subscriptions_ledger_amount_sign",
            ),
            models.CheckConstraint(
                condition=Q(kind=LedgerKind.REFUND_PAID) | Q(period_start__isnull=False),
                name="subscriptions_ledger_charge_has_period",
            ),
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(payment__isnull=False),
                name="subscriptions_ledger_payment_once",
            ),
        ]

    def __str__(self) -> str:
        amount = format_amount(self.amount, self.currency)
        return f"{self.booked_on} {self.organisation} — {self.get_kind_display()} {amount}"

    @property
    def document(self) -> Invoice | None:
        """The invoice or return invoice the line is on, or for a payment received the
        invoice it pays."""
        if self.payment_id is not None:
            return self.payment.invoice  # type: ignore[union-attr]
        return self.invoice

    @property
    def signed_amount(self) -> Decimal:
        """The line as the customer reads it: charges positive, money going back negative
        (a refund paid is stored positive, as the ledger has always written it; a credit
        negative)."""
        going_back = (LedgerKind.REFUND_PAID, LedgerKind.VOIDED)
        return -self.amount if self.kind in going_back else self.amount
