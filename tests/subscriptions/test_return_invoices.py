"""Tax follows the money (docs/domain.md): a refund gives back the consumption tax paid on
its part of the period's invoices, and every refund paid has its return invoice
(適格返還請求書): its own numbers, the invoices it corrects with their dates, the amount and
the tax returned. Seen from the Store, the admin and ``manage.py invoices``.

The finding of issue 21: a refund quote of ¥103,395 on a period paid with 10% tax was
recorded as ¥103,395, and the ¥10,339 of tax paid on that part never went back."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from portal.tenancy import use_public_schema
from subscriptions.models import Invoice, LedgerLine, PlanChange
from subscriptions.services import refunds
from tests.conftest import Site, confirmation_of, signed_in
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

NUMBER = re.compile(r"RET-\d{4}-\d{6}")


def _downgraded_and_refunded(site: Site) -> tuple[PlanChange, Invoice]:
    """Enterprise (10 seats, ¥60,000 and ¥6,000 tax this month) down to Professional in
    the Store, the refund requested there, approved and paid by staff."""
    client = signed_in(site, "primary")
    page = client.get("/store/plans/professional/").content.decode()
    assert client.post("/store/plans/professional/", confirmation_of(page)).status_code == 302
    change = PlanChange.objects.get(organisation=site.organisation)
    result = client.get(f"/store/changes/{change.pk}/").content.decode()
    key = re.findall(r'name="idempotency_key" value="([0-9a-f]{32})"', result)[0]
    client.post(f"/store/changes/{change.pk}/refund/", {"idempotency_key": key})
    use_public_schema()  # staff, and every organisation's rows, are on public
    staff = StaffFactory.create(permissions=["decide_refundrequest"])
    refund = refunds.approve_refund(change.refund_request, acting_user=staff)
    refunds.mark_refunded(refund, acting_user=staff, payment_reference="BANK-77")
    [charged] = Invoice.objects.filter(organisation=site.organisation, kind="invoice")
    return change, charged


def test_a_refund_gives_back_the_tax_paid_on_its_part(northwind: Site) -> None:
    change, charged = _downgraded_and_refunded(northwind)
    assert (charged.subtotal, charged.tax) == (Decimal(60000), Decimal(6000))
    quote = change.refund_quote
    # Its share of the invoice's tax, rounded down: 10% here.
    assert change.refund_tax == (quote * charged.tax / charged.subtotal).to_integral_value(
        "ROUND_DOWN"
    )
    assert change.refund_tax > 0
    refund = change.refund_request
    refund.refresh_from_db()
    assert (refund.amount, refund.tax, refund.total) == (
        quote,
        change.refund_tax,
        quote + change.refund_tax,
    )
    [paid] = LedgerLine.objects.filter(organisation=northwind.organisation, kind="refund_paid")
    assert paid.amount == quote  # the ledger stays tax-exclusive; its document has the tax
    returned = paid.invoice
    assert returned is not None and NUMBER.fullmatch(returned.number)
    assert (returned.kind, returned.subtotal, returned.tax, returned.total) == (
        "return_invoice",
        quote,
        change.refund_tax,
        refund.total,
    )
    assert returned.corrects == [
        {"number": charged.number, "issued_on": charged.issued_on.isoformat()}
    ]
    assert returned.registration_number == charged.registration_number


def test_the_store_lists_the_return_invoice_with_a_minus_sign_and_prints_it(
    northwind: Site, settings
) -> None:
    settings.PORTAL_INVOICE_REGISTRATION_NUMBER = "T7123456789012"
    change, charged = _downgraded_and_refunded(northwind)
    returned = Invoice.objects.get(organisation=northwind.organisation, kind="return_invoice")
    client = signed_in(northwind, "primary")
    change.refresh_from_db()
    billing = client.get("/store/billing/").content.decode()
    row = billing[billing.index(returned.number) - 400 : billing.index(returned.number)]
    assert f"\u2212¥{change.refund_quote:,.0f}" in row  # −¥…, never ¥-…
    assert "¥-" not in billing
    page = client.get(f"/store/invoices/{returned.number}/").content.decode()
    assert "Return invoice (qualified return invoice)" in page
    assert f'data-testid="corrects">{charged.number}' in page
    assert f'data-testid="invoice-tax">¥{change.refund_tax:,.0f}<' in page
    assert f'data-testid="invoice-total">¥{returned.total:,.0f}<' in page
    # The same document in the admin, and the organisation's refund at its total.
    assert "Total returned (including tax)" in page


def test_the_invoices_command_names_each_documents_kind_and_what_it_corrects(
    northwind: Site,
) -> None:
    change, charged = _downgraded_and_refunded(northwind)
    out = io.StringIO()
    call_command("invoices", "--org", "northwind", "--format", "json", stdout=out)
    documents = {
        document["number"]: document for document in json.loads(out.getvalue())["invoices"]
    }
    assert documents[charged.number]["kind"] == "invoice"
    assert "corrects" not in documents[charged.number]
    [returned] = [d for d in documents.values() if d["kind"] == "return_invoice"]
    assert returned["corrects"] == [charged.number]
    assert Decimal(returned["subtotal"]) == change.refund_quote  # positive: what went back
    assert Decimal(returned["total"]) == change.refund_quote + change.refund_tax
    [line] = returned["lines"]
    assert (line["kind"], Decimal(line["amount"])) == ("refund_paid", -change.refund_quote)


def test_the_admin_lists_return_invoices_beside_invoices(northwind: Site) -> None:
    _change, charged = _downgraded_and_refunded(northwind)
    returned = Invoice.objects.get(organisation=northwind.organisation, kind="return_invoice")
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(StaffFactory.create(groups=["Support"]))
    listing = staff.get("/admin/subscriptions/invoice/").content.decode()
    row = listing[listing.index(returned.number) :]
    row = row[: row.index("</tr>")]
    assert "Return invoice" in row and f"\u2212¥{returned.total:,.0f}" in row
    page = staff.get(f"/admin/subscriptions/invoice/{returned.pk}/change/").content.decode()
    assert "Return invoice" in page and charged.number in page
