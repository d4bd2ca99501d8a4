"""The ledger in the admin: every money movement, read-only (as the database is
append-only), filtered by kind, currency and date."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from subscriptions.admin.base import ReadOnlyAdmin
from subscriptions.models import LedgerLine
from subscriptions.templatetags.subscriptions import money


@admin.register(LedgerLine)
class LedgerLineAdmin(ReadOnlyAdmin):
    list_display = ["booked_on", "organisation", "kind", "amount_display", "period_start"]
    list_filter = ["kind", "currency", ("booked_on", admin.DateFieldListFilter)]
    search_fields = ["organisation__name", "organisation__slug", "description"]
    list_select_related = ["organisation"]

    @admin.display(description=gettext_lazy("amount (excluding tax)"), ordering="amount")
    def amount_display(self, line: LedgerLine) -> str:
        return money(line.amount, line.currency)
