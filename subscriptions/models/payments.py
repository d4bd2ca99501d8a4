"""An organisation at the payment provider: its customer and the card on file."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation


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
    updated_at = models.DateTimeField(auto_now=True)

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
