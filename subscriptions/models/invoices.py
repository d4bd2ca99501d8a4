"""Invoices: one for each charge the ledger books (a period, an upgrade, a new cycle less
its credit), numbered from a database sequence so that a number is never given twice,
frozen once issued (a trigger refuses UPDATE and DELETE). In JPY an invoice is a
qualified invoice (適格請求書): the seller's registration number, the tax rate and the tax
for that rate, rounded once per invoice. Money given back has its **return invoice**
(適格返還請求書) with its own number series: its amounts are positive (what goes back), and
it names the invoices it corrects."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from subscriptions.models.catalogue import Currency
from subscriptions.money import CURRENCIES


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    # 返還インボイス (適格返還請求書): money given back (a refund paid, a credit), correcting
    # the invoices of the period it was paid for; its own number series.
    RETURN_INVOICE = "return_invoice", _("Return invoice")


class InvoiceStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")


class Invoice(models.Model):
    number = models.CharField(_("number"), max_length=30, unique=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE
    )
    # A return invoice's originals, as they were: [{"number": ..., "issued_on": ...}].
    corrects = models.JSONField(_("corrects"), default=list, blank=True)
    # A return invoice that cancels an invoice never paid (dunning's last step): the
    # invoice is void.
    voids = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="voided_by",
        verbose_name=_("voids"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("organisation"),
    )
    issued_on = models.DateField(_("date"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    # As they were on the day of issue: an invoice never changes afterwards.
    buyer_name = models.CharField(_("buyer"), max_length=100)
    buyer_attention = models.CharField(_("department or person"), max_length=100, blank=True)
    buyer_address = models.TextField(_("postal address"), blank=True)
    buyer_registration_number = models.CharField(
        _("buyer's registration number"), max_length=14, blank=True
    )
    seller_name = models.CharField(_("seller"), max_length=200)
    registration_number = models.CharField(_("registration number"), max_length=14, blank=True)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4)
    subtotal = models.DecimalField(_("subtotal (excluding tax)"), max_digits=14, decimal_places=2)
    tax = models.DecimalField(_("tax"), max_digits=14, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total=models.F("subtotal") + models.F("tax")),
                name="subscriptions_invoice_total_adds_up",
            ),
            models.CheckConstraint(
                condition=models.Q(subtotal__gte=0, tax__gte=0),
                name="subscriptions_invoice_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_return(self) -> bool:
        return self.kind == InvoiceKind.RETURN_INVOICE

    @property
    def status(self) -> str:
        """Open until paid, paid once a payment for it was received, void once a return
        invoice cancelled it; a return invoice is settled when issued (paid). Read from
        ``selectors.invoices``' annotations when it made them (else two queries)."""
        if self.is_return:
            return InvoiceStatus.PAID
        void = getattr(self, "is_void", None)
        if void is None:
            void = Invoice.objects.filter(voids=self).exists()
        if void:
            return InvoiceStatus.VOID
        paid = getattr(self, "is_paid", None)
        if paid is None:
            paid = self.payments.filter(status="paid").exists()
        return InvoiceStatus.PAID if paid else InvoiceStatus.OPEN

    @property
    def status_label(self) -> str:
        return str(InvoiceStatus(self.status).label)

    @property
    def is_qualified(self) -> bool:
        """A qualified invoice (適格請求書, or its return invoice): in a currency that has
        them, issued with the seller's registration number."""
        return CURRENCIES[self.currency].qualified_invoices and bool(self.registration_number)


class BillingDetails(models.Model):
    """How an organisation wants its invoices addressed and sent (set in the Store by the
    primary contact or a super admin). New invoices copy them; issued ones never change."""

    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="billing_details",
        verbose_name=_("organisation"),
    )
    addressee = models.CharField(_("addressee"), max_length=100, blank=True)
    attention = models.CharField(_("department or person"), max_length=100, blank=True)
    postal_address = models.TextField(_("postal address"), max_length=300, blank=True)
    emails = models.JSONField(_("billing email addresses"), default=list, blank=True)
    registration_number = models.CharField(_("registration number"), max_length=14, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("billing details")
        verbose_name_plural = _("billing details")

    def __str__(self) -> str:
        return f"{self.organisation}: {self.addressee or self.organisation.name}"
