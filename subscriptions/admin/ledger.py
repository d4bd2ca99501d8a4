"""The ledger and the invoices in the admin: every money movement and every invoice,
read-only (as the database is append-only); an invoice shows as it prints. The invoices'
list is the books' archive: kept seven years after issue, whatever becomes of the
organisation, searched by date range, amount range and counterparty, exported as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin import RangeFilter, ReadOnlyAdmin, exported_rows
from subscriptions.models import Invoice, LedgerKind, LedgerLine
from subscriptions.selectors.invoices import ARCHIVE_COLUMNS, archive_row, with_status
from subscriptions.templatetags.subscriptions import money


class OrganisationFilter(admin.SimpleListFilter):
    """One organisation's lines (``?organisation=<address>``, as its page links them): no
    list of every organisation in the sidebar, which would be thousands long."""

    title = gettext_lazy("organisation")
    parameter_name = "organisation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        slug = self.value()
        return [(slug, slug)] if slug else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[LedgerLine]) -> Any:
        return queryset.filter(organisation__slug=self.value()) if self.value() else queryset


@admin.register(LedgerLine)
class LedgerLineAdmin(ReadOnlyAdmin):
    """Every money movement, filtered by organisation, kind, currency and day, with the
    totals of what is listed (by currency and kind)."""

    list_display = ["booked_on", "organisation", "kind", "amount_display", "period_start"]
    list_filter = [
        OrganisationFilter,
        "kind",
        "currency",
        ("booked_on", admin.DateFieldListFilter),
    ]
    search_fields = ["organisation__name", "organisation__slug", "description"]
    list_select_related = ["organisation"]
    change_list_template = "admin/subscriptions/ledgerline/change_list.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:  # the list, not a redirect
            sums = (
                context["cl"]
                .queryset.order_by()
                .values("currency", "kind")
                .annotate(total=Sum("amount"))
                .order_by("currency", "kind")
            )
            context["totals"] = [
                (LedgerKind(row["kind"]).label, money(row["total"], row["currency"]))
                for row in sums
            ]
        return response

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, line: LedgerLine) -> str:
        """Tax-exclusive, but a payment received: the money that came in."""
        return money(line.amount, line.currency)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """The organisations' invoices and return invoices as they printed them, read-only
    (frozen once issued); a return invoice's total is money that went back."""

    list_display = [
        "number",
        "kind",
        "status_display",
        "issued_on",
        "organisation",
        "total_display",
    ]
    list_filter = [
        "kind",
        "currency",
        ("issued_on", RangeFilter),
        ("total", RangeFilter),
    ]
    # The counterparty: the buyer as the document names it, or the organisation now.
    search_fields = ["number", "buyer_name", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation"]
    change_form_template = "admin/subscriptions/invoice/change_form.html"
    change_list_template = "admin/subscriptions/invoice/change_list.html"

    def get_urls(self) -> list[Any]:
        export = self.admin_site.admin_view(self.export_view)
        return [path("export/", export, name="subscriptions_invoice_export"), *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """The archive's documents as the list has them filtered and searched, as CSV
        (UTF-8 with a byte-order mark); a filter the list refuses is a 400, nothing exported."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        documents = exported_rows(self, request)
        if documents is None:
            return HttpResponseBadRequest(_("These filters cannot be exported: clear them."))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(ARCHIVE_COLUMNS)
        for document in documents.order_by("issued_on", "number").iterator(chunk_size=2000):
            writer.writerow(archive_row(document))
        response = HttpResponse(
            "\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="invoices.csv"'
        return response

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        lines = LedgerLine.objects.select_related("plan").order_by("id")
        invoices = super().get_queryset(request).prefetch_related(Prefetch("lines", queryset=lines))
        return with_status(invoices)

    @admin.display(description=gettext_lazy("status"))
    def status_display(self, invoice: Invoice) -> str:
        return invoice.status_label

    @admin.display(description=gettext_lazy("total (including tax)"), ordering="total")
    def total_display(self, invoice: Invoice) -> str:
        return money(-invoice.total if invoice.is_return else invoice.total, invoice.currency)
