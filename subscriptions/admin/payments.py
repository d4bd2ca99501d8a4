"""What the payment provider holds and says, read-only: each organisation's card on file
(brand, last four digits, expiry) and the events its webhook received, with what processing
them did."""

from __future__ import annotations

from django.contrib import admin

from portal.admin import ReadOnlyAdmin
from subscriptions.models import PaymentAccount, ProviderEvent


@admin.register(PaymentAccount)
class PaymentAccountAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "brand", "last4", "exp_month", "exp_year", "updated_at"]
    list_select_related = ["organisation"]
    search_fields = ["organisation__name", "organisation__slug", "customer_id"]


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "type", "event_id", "processed_at", "outcome"]
    list_filter = ["type"]
    search_fields = ["event_id"]
    date_hierarchy = "received_at"
