"""Invoices: one for every charge, numbered once and for ever, frozen once issued; in JPY
a qualified invoice (registration number, 10% tax on the subtotal, rounded once)."""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from subscriptions.invoicing import invoice_number, totals
from subscriptions.models import Invoice, LedgerLine, Subscription
from subscriptions.selectors.invoices import documents_of_change
from subscriptions.services import plan_changes, refunds
from tests.conftest import Site, owner_role, signed_in
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation
from tests.subscriptions.test_backoffice import staff_client

pytestmark = pytest.mark.django_db

# The app role's privileges refuse it; the owner's statement reaches the triggers, which do.
BY_ROLE = pytest.mark.parametrize(
    ("owner", "refusal"),
    [(False, "permission denied"), (True, "append-only")],
    ids=["app", "owner"],
)


def test_the_tax_is_computed_once_on_the_subtotal_and_rounded_down() -> None:
    # Per line, 10% of ¥105 twice would round to ¥10 + ¥10; once on ¥210 it is ¥21.
    assert totals([Decimal(105), Decimal(105)], "JPY") == totals([Decimal(210)], "JPY")
    assert totals([Decimal(210)], "JPY").tax == Decimal(21)
    assert totals([Decimal(58001)], "JPY").tax == Decimal(5800)  # 5,800.1 rounded down
    credit = totals([Decimal(40320), Decimal(-4800)], "JPY")
    assert (credit.subtotal, credit.tax, credit.total) == (35520, 3552, 39072)
    assert totals([Decimal("12.34")], "USD").tax == 0  # customers abroad: untaxed
    assert invoice_number(date(2026, 11, 26), 42) == "INV-2026-000042"


def test_every_charge_has_an_invoice_and_a_refund_paid_its_return_invoice(northwind: Site) -> None:
    organisation = northwind.organisation
    plan_changes.change_plan(organisation, "professional", acting_user=None, seats=10)
    subscription = Subscription.objects.get(organisation=organisation)
    plan_changes.change_plan(
        organisation, "enterprise", acting_user=None, today=subscription.period_start
    )
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    change = plan_changes.change_plan(organisation, "free", acting_user=None, keep_user_ids=keep)
    refund = refunds.request_refund(change, acting_user=northwind.user("primary"))
    staff = StaffFactory.create(permissions=["decide_refundrequest"])
    refunds.approve_refund(refund, acting_user=staff)
    refunds.mark_refunded(refund, acting_user=staff, payment_reference="BANK-9")
    lines = LedgerLine.objects.filter(organisation=organisation)
    charges = lines.exclude(kind__in=["refund_paid", "payment"])
    assert charges.count() == 2 and not charges.filter(invoice__isnull=True).exists()
    invoices = Invoice.objects.filter(organisation=organisation, kind="invoice")
    numbers = list(invoices.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 2
    assert all(re.fullmatch(r"INV-\d{4}-\d{6}", number) for number in numbers)
    for invoice in invoices:
        [line] = invoice.lines.all()
        assert invoice.subtotal == line.amount
        assert invoice.tax == (line.amount * Decimal("0.1")).quantize(Decimal(1), "ROUND_DOWN")
        assert invoice.total == invoice.subtotal + invoice.tax
        assert invoice.buyer_name == organisation.name
    [paid] = lines.filter(kind="refund_paid")
    returned = paid.invoice
    assert returned is not None and re.fullmatch(r"RET-\d{4}-\d{6}", returned.number)
    assert (returned.kind, returned.subtotal, returned.tax) == (
        "return_invoice",
        refund.amount,
        refund.tax,
    )
    # It corrects the invoices paid for the period, with their dates.
    assert [original["number"] for original in returned.corrects] == sorted(numbers)


def test_a_new_cycle_is_invoiced_and_its_credit_given_back_on_a_return_invoice() -> None:
    organisation, owner = make_organisation("standard", seats=2)
    subscription = Subscription.objects.get(organisation=organisation)
    [first] = Invoice.objects.filter(organisation=organisation)  # the month, ¥4,800 + tax
    change = plan_changes.change_plan(
        organisation, "standard", acting_user=owner, cycle="annual", today=subscription.period_start
    )
    annual = Decimal("1680") * 2 * 12
    credit = annual - change.amount_due
    invoice = Invoice.objects.get(
        organisation=organisation, kind="invoice", lines__plan_change=change
    )
    assert [line.kind for line in invoice.lines.all()] == ["period_charge"]
    assert (invoice.subtotal, invoice.tax) == (annual, annual / 10)
    returned = Invoice.objects.get(organisation=organisation, kind="return_invoice")
    assert [(line.kind, line.amount) for line in returned.lines.all()] == [
        ("cycle_credit", -credit)
    ]
    # The credit's tax: its share of the first month's invoice's tax, rounded down.
    assert returned.subtotal == credit
    assert returned.tax == (credit * first.tax / first.subtotal).to_integral_value("ROUND_DOWN")
    assert returned.corrects == [{"number": first.number, "issued_on": first.issued_on.isoformat()}]
    # Charged now: the year and its tax, less the credit and its tax.
    assert documents_of_change(change).charged == invoice.total - returned.total


def test_jpy_invoices_carry_the_registration_number_and_usd_invoices_do_not(
    settings,
) -> None:
    settings.PORTAL_INVOICE_REGISTRATION_NUMBER = "T7123456789012"
    settings.PORTAL_INVOICE_SELLER = "Vendor K.K."
    japanese, _owner = make_organisation("standard", seats=1)
    american, _owner = make_organisation("standard", seats=1, currency="USD")
    jpy = Invoice.objects.get(organisation=japanese)
    usd = Invoice.objects.get(organisation=american)
    assert (jpy.registration_number, jpy.seller_name, jpy.tax_rate) == (
        "T7123456789012",
        "Vendor K.K.",
        Decimal("0.1"),
    )
    assert (usd.registration_number, usd.tax, usd.total) == ("", 0, usd.subtotal)


@BY_ROLE
def test_an_invoice_never_changes_once_issued(northwind: Site, owner: bool, refusal: str) -> None:
    invoice = Invoice.objects.filter(organisation=northwind.organisation).first()
    assert invoice is not None
    for statement in (
        "UPDATE subscriptions_invoice SET total = 0",
        "DELETE FROM subscriptions_invoice",
    ):
        with (
            owner_role() if owner else nullcontext(),
            pytest.raises(DatabaseError, match=refusal),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert Invoice.objects.get(pk=invoice.pk).total == invoice.total


def test_the_store_lists_and_prints_the_invoices(northwind: Site, settings) -> None:
    settings.PORTAL_INVOICE_REGISTRATION_NUMBER = "T7123456789012"
    organisation = northwind.organisation
    plan_changes.change_plan(organisation, "professional", acting_user=None, seats=10)
    subscription = Subscription.objects.get(organisation=organisation)
    plan_changes.change_plan(
        organisation, "enterprise", acting_user=None, today=subscription.period_start
    )
    invoice = Invoice.objects.filter(organisation=organisation).order_by("-id").first()
    assert invoice is not None
    client = signed_in(northwind, "primary")
    home = client.get("/store/").content.decode()
    assert f'href="/store/invoices/{invoice.number}/"' in home
    page = client.get(f"/store/invoices/{invoice.number}/", HTTP_ACCEPT_LANGUAGE="ja")
    assert page.status_code == 200
    text = page.content.decode()
    assert "適格請求書" in text and f"{organisation.name}\u3000御中" in text
    assert 'data-testid="registration-number">T7123456789012<' in text
    assert f'data-testid="invoice-total">¥{invoice.total:,.0f}<' in text
    assert f'data-testid="invoice-tax">¥{invoice.tax:,.0f}<' in text
    assert 'data-testid="invoice-status">支払済み<' in text
    english = client.get(f"/store/invoices/{invoice.number}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Invoice (qualified invoice)" in english.content.decode()
    assert 'data-testid="invoice-status">Paid<' in english.content.decode()


def test_an_invoice_is_only_for_its_organisations_managers(northwind: Site, contoso: Site) -> None:
    invoice = Invoice.objects.filter(organisation=contoso.organisation).first()
    assert invoice is not None
    assert (
        signed_in(northwind, "primary").get(f"/store/invoices/{invoice.number}/").status_code == 404
    )
    assert signed_in(contoso, "agent").get(f"/store/invoices/{invoice.number}/").status_code == 403
    assert (
        signed_in(contoso, "primary").get(f"/store/invoices/{invoice.number}/").status_code == 200
    )


def test_staff_see_the_same_invoice_in_the_admin(northwind: Site) -> None:
    invoice = Invoice.objects.filter(organisation=northwind.organisation).first()
    assert invoice is not None
    client = staff_client()
    listing = client.get("/admin/subscriptions/invoice/")
    assert listing.status_code == 200 and invoice.number in listing.content.decode()
    page = client.get(f"/admin/subscriptions/invoice/{invoice.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="invoice"' in text and f">{invoice.number}<" in text


def test_the_invoices_command(northwind: Site, capsys) -> None:
    call_command("invoices", "--org", northwind.organisation.slug, "--format", "json")
    [shown] = json.loads(capsys.readouterr().out)["invoices"]
    invoice = Invoice.objects.get(organisation=northwind.organisation)
    assert shown["number"] == invoice.number and shown["currency"] == "JPY"
    assert shown["status"] == "paid"  # the period the organisation started with was paid
    assert Decimal(shown["total"]) == Decimal(shown["subtotal"]) + Decimal(shown["tax"])
    assert shown["total"] == str(int(invoice.total))
    assert shown["registration_number"] is None  # none configured in the tests
    assert [line["kind"] for line in shown["lines"]] == ["period_charge"]
    assert shown["lines"][0]["plan"] == "enterprise" and shown["lines"][0]["seats"] == 10


def _queries(client, url: str) -> int:
    client.get(url)  # warm the entitlements cache, as any earlier page did
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_invoice_pages_keep_their_query_budget(northwind: Site) -> None:
    """The Store's invoice page and the admin's invoice and ledger pages cost the same
    number of queries however many invoices and lines there are."""
    organisation = northwind.organisation
    customer, staff = signed_in(northwind, "primary"), staff_client()
    first = Invoice.objects.get(organisation=organisation)
    pages = {
        "store": (customer, f"/store/invoices/{first.number}/"),
        "invoices": (staff, "/admin/subscriptions/invoice/"),
        "invoice": (staff, f"/admin/subscriptions/invoice/{first.pk}/change/"),
        "ledger": (staff, "/admin/subscriptions/ledgerline/"),
    }
    before = {name: _queries(client, url) for name, (client, url) in pages.items()}
    plan_changes.change_plan(organisation, "enterprise", acting_user=None, seats=12)
    plan_changes.change_plan(organisation, "enterprise", acting_user=None, seats=14)
    after = {name: _queries(client, url) for name, (client, url) in pages.items()}
    assert after == before == INVOICE_PAGE_BUDGETS


# The Store page: 7 before the host cache (portal/hosts.py), which saves the lookup of the
# organisation and the search_path switch through public. Every page: one fewer since the
# session is read through the cache (portal/sessions.py).
INVOICE_PAGE_BUDGETS = {"store": 4, "invoices": 7, "invoice": 6, "ledger": 7}  # ledger: its totals


@pytest.mark.parametrize("number", ["INV-2026-000001%00", "INV-2026-000001%27", "nonsense"])
def test_an_odd_invoice_address_is_not_found(northwind: Site, number: str) -> None:
    response = signed_in(northwind, "primary").get(f"/store/invoices/{number}/")
    assert response.status_code == 404


def test_without_a_registration_number_an_invoice_does_not_claim_to_be_qualified(
    northwind: Site,
) -> None:
    invoice = Invoice.objects.get(organisation=northwind.organisation)
    assert invoice.registration_number == ""  # none configured in the tests
    page = signed_in(northwind, "primary").get(
        f"/store/invoices/{invoice.number}/", HTTP_ACCEPT_LANGUAGE="ja"
    )
    text = page.content.decode()
    assert "適格請求書" not in text and "請求書" in text
    assert 'data-testid="registration-number"' not in text


def test_the_ledger_list_filters_by_organisation_and_shows_its_totals(
    northwind: Site, contoso: Site
) -> None:
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    page = staff_client().get("/admin/subscriptions/ledgerline/", {"organisation": "northwind"})
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="ledger-totals"' in text
    lines = LedgerLine.objects.filter(organisation=northwind.organisation)
    charged = sum(line.amount for line in lines if line.kind == "period_charge")
    assert f"¥{charged:,.0f}" in text
    assert "Contoso" not in text.split('data-testid="ledger-totals"')[1]
