"""An organisation at the payment provider (its customer and the card on file), the
payments asked of it against its invoices, and the events the provider sends."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from subscriptions.models.catalogue import Currency
from subscriptions.models.invoices import Invoice


class PaymentAccount(models.Model):
    """The provider's customer for one organisation and its default card, shown as brand,
    last four digits and expiry: the card's number never reaches the portal (the provider's
    card form sends it to the provider)."""

    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="payment_account",
        verbose_name=_("organisation"),
    )
    customer_id = models.CharField(_("customer"), max_length=100)
    payment_method_id = models.CharField(_("payment method"), max_length=100, blank=True)
    brand = models.CharField(_("card brand"), max_length=20, blank=True)
    last4 = models.CharField(_("last four digits"), max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"), null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(_("expiry year"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("payment account")
        verbose_name_plural = _("payment accounts")

    def __str__(self) -> str:
        return (
            f"{self.organisation}: {self.brand} •••• {self.last4}"
            if self.last4
            else str(self.organisation)
        )

    @property
    def has_card(self) -> bool:
        return bool(self.payment_method_id)


class ProviderEvent(models.Model):
    """An event the payment provider sent to the webhook, kept once by its id (a replay finds
    it and changes nothing) and processed by a job; what processing did is its outcome."""

    event_id = models.CharField(_("event"), max_length=100, unique=True)
    type = models.CharField(_("type"), max_length=100)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        verbose_name = _("payment provider event")
        verbose_name_plural = _("payment provider events")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class PaymentStatus(models.TextChoices):
    # The card holds the money for a change not yet committed; taken once it is.
    HELD = "held", _("Held")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    # A hold let go: the change it was for was never made.
    RELEASED = "released", _("Released")


class Payment(models.Model):
    """One attempt to collect an invoice at the provider: a change's (held on the card while
    the change commits, then taken) or a renewal's (taken off-session, retried while the
    subscription is past due). A payment received is also a ledger line against its invoice
    (``services.collection``); a failed one says why."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("organisation"),
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="payments", verbose_name=_("invoice")
    )
    # The provider's PaymentIntent ("pi_…"), or the record-only gateway's; none when no
    # attempt reached the provider (no card on file).
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    amount = models.DecimalField(_("amount (tax included)"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    status = models.CharField(_("status"), max_length=10, choices=PaymentStatus.choices)
    # What of it went back through the provider (refunds paid against it), tax included.
    refunded = models.DecimalField(
        _("refunded (tax included)"), max_digits=14, decimal_places=2, default=0
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    attempted_on = models.DateField(_("attempted on"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"], condition=~Q(reference=""), name="subscriptions_payment_once"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="subscriptions_payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(refunded__gte=0, refunded__lte=models.F("amount")),
                name="subscriptions_payment_refunded_at_most_paid",
            ),
        ]
        indexes = [models.Index(fields=["status", "attempted_on"], name="subscriptions_pay_due")]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.get_status_display()} {self.reference}"
