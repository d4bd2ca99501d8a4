"""Reading invoices: an organisation's, one by number, and every organisation's for the
``invoices`` command. Each comes with its lines (the ledger lines it bills)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from portal.models import Organisation
from subscriptions.models import Invoice, LedgerLine, PlanChange


def _with_lines(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    lines = LedgerLine.objects.select_related("plan").order_by("id")
    return invoices.prefetch_related(Prefetch("lines", queryset=lines))


def invoices_of(organisation: Organisation) -> QuerySet[Invoice]:
    """The organisation's invoices, newest first, with their lines (two queries)."""
    return _with_lines(Invoice.objects.filter(organisation=organisation))


def invoice_of(organisation: Organisation, number: str) -> Invoice | None:
    """The organisation's invoice with this number (another organisation's is None)."""
    return invoices_of(organisation).filter(number=number).first()


def invoice_of_change(change: PlanChange) -> Invoice | None:
    """The invoice of what a plan change charged, if it charged anything (one query)."""
    return Invoice.objects.filter(lines__plan_change=change).distinct().first()
