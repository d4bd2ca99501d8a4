"""Reading invoices: an organisation's, one by number, and every organisation's for the
``invoices`` command. Each comes with its lines (the ledger lines it bills)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from portal.models import Organisation
from subscriptions.models import (
    BillingDetails,
    Invoice,
    InvoiceKind,
    LedgerLine,
    Payment,
    PaymentStatus,
    PlanChange,
)


@dataclass(frozen=True)
class ChangeDocuments:
    """What one applied change issued: the invoice of its charge, and the return invoice of
    the credit it used (a new billing cycle's), each None when there was none."""

    invoice: Invoice | None
    returned: Invoice | None

    @property
    def charged(self) -> Decimal:
        """What is charged now, tax included: the invoice less the credit given back."""
        charge = self.invoice.total if self.invoice is not None else Decimal(0)
        return charge - (self.returned.total if self.returned is not None else Decimal(0))


def with_status(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """With what each one's status needs (``Invoice.status``), in the same query."""
    paid = Payment.objects.filter(invoice=OuterRef("pk"), status=PaymentStatus.PAID)
    return invoices.annotate(
        is_void=Exists(Invoice.objects.filter(voids=OuterRef("pk"))), is_paid=Exists(paid)
    )


def _with_lines(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """With the lines each bills, and its status."""
    lines = LedgerLine.objects.select_related("plan").order_by("id")
    return with_status(invoices.prefetch_related(Prefetch("lines", queryset=lines)))


def invoices_of(organisation: Organisation) -> QuerySet[Invoice]:
    """The organisation's invoices, newest first, with their lines and status (two
    queries)."""
    return _with_lines(Invoice.objects.filter(organisation=organisation))


def invoice_of(organisation: Organisation, number: str) -> Invoice | None:
    """The organisation's invoice with this number (another organisation's is None)."""
    return invoices_of(organisation).filter(number=number).first()


def documents_of_change(change: PlanChange) -> ChangeDocuments:
    """The invoice and return invoice a plan change issued, if any (one query)."""
    found = {
        document.kind: document
        for document in Invoice.objects.filter(lines__plan_change=change).distinct()
    }
    return ChangeDocuments(
        invoice=found.get(InvoiceKind.INVOICE), returned=found.get(InvoiceKind.RETURN_INVOICE)
    )


def billing_details_of(organisation: Organisation) -> BillingDetails:
    """The organisation's billing details (empty ones, unsaved, when it set none; one
    query)."""
    found = BillingDetails.objects.filter(organisation=organisation).first()
    return found if found is not None else BillingDetails(organisation=organisation)


def billing_recipients(organisation: Organisation, primary_contact_email: str) -> list[str]:
    """Who receives the organisation's invoices, receipts and return invoices: the primary
    contact and the billing email addresses, each once (one query)."""
    return list(dict.fromkeys([primary_contact_email, *billing_details_of(organisation).emails]))


# The books' archive as exported (admin: Invoices → Export as CSV): one row per document.
ARCHIVE_COLUMNS = [
    "number",
    "kind",
    "issued_on",
    "status",
    "organisation",
    "buyer_name",
    "buyer_registration_number",
    "registration_number",
    "currency",
    "subtotal",
    "tax",
    "total",
    "corrects",
]


def archive_row(document: Invoice) -> list[str]:
    """An invoice or return invoice as the archive exports it (``with_status`` annotated)."""
    values = {
        "number": document.number,
        "kind": document.kind,
        "issued_on": document.issued_on.isoformat(),
        "status": document.status,
        "organisation": document.organisation.slug,
        "buyer_name": document.buyer_name,
        "buyer_registration_number": document.buyer_registration_number,
        "registration_number": document.registration_number,
        "currency": document.currency,
        "subtotal": str(document.subtotal),
        "tax": str(document.tax),
        "total": str(document.total),
        "corrects": " ".join(document.corrects),
    }
    return [values[column] for column in ARCHIVE_COLUMNS]
