"""Every charge sends its document (issue 21, point 6): a renewal, an upgrade, a seat
purchase and a refund paid each email their invoice or return invoice, with its summary and
link, to the primary contact and the billing addresses; an annual subscription is told of
its renewal 30 days before (once), a monthly one never."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from subscriptions.models import Invoice, Subscription
from subscriptions.services import plan_changes, refunds
from subscriptions.services.billing import run_billing
from subscriptions.services.billing_details import set_billing_details
from tests.conftest import Site, queued_emails, sending_queued_emails
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db

BILLING = ["billing@northwind.test", "keiri@northwind.test"]


@pytest.fixture
def billing_addresses(northwind: Site) -> list[str]:
    set_billing_details(northwind.organisation, acting_user=None, emails=BILLING)
    return BILLING


def _documents(queue: Any) -> list[dict[str, Any]]:
    return [
        email
        for email in queue.queued()
        if email["subject"].startswith(("Invoice INV-", "Return invoice RET-"))
    ]


def test_a_renewal_sends_its_invoice_to_the_primary_contact_and_billing(
    northwind: Site, billing_addresses: list[str]
) -> None:
    day = Subscription.objects.get(organisation=northwind.organisation).period_end
    with sending_queued_emails(send=False) as queue:
        run_billing(day + timedelta(days=1))
        [email] = [e for e in _documents(queue) if "primary@northwind.test" in e["to"]]
    invoice = Invoice.objects.filter(organisation=northwind.organisation).latest("pk")
    assert email["to"] == ["primary@northwind.test", *billing_addresses]
    assert email["subject"] == f"Invoice {invoice.number}: ¥{invoice.total:,.0f}"
    assert f"/store/invoices/{invoice.number}/" in email["body"]
    assert f"total ¥{invoice.total:,.0f}" in email["body"]


@pytest.mark.parametrize("seats", [None, 12])  # an upgrade, a seat purchase
def test_an_upgrade_or_a_seat_purchase_sends_its_invoice(
    northwind: Site, billing_addresses: list[str], seats: int | None
) -> None:
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    with sending_queued_emails(send=False) as queue:
        plan_changes.change_plan(
            northwind.organisation, "enterprise", acting_user=None, seats=seats
        )
        emails = queue.queued()
    invoice = Invoice.objects.filter(organisation=northwind.organisation).latest("pk")
    [told] = [email for email in emails if email["to"] == ["primary@northwind.test"]]
    assert f"invoice {invoice.number}" in told["body"]
    assert f"/store/invoices/{invoice.number}/" in told["body"]
    [document] = [email for email in emails if email["to"] == billing_addresses]
    assert document["subject"] == f"Invoice {invoice.number}: ¥{invoice.total:,.0f}"


def test_a_refund_paid_sends_its_return_invoice(
    northwind: Site, billing_addresses: list[str]
) -> None:
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    refund = refunds.request_refund(change, acting_user=northwind.user("primary"))
    staff = StaffFactory.create(permissions=["decide_refundrequest"])
    refunds.approve_refund(refund, acting_user=staff)
    with sending_queued_emails(send=False) as queue:
        refunds.mark_refunded(refund, acting_user=staff, payment_reference="BANK-1")
        [email] = _documents(queue)
    returned = Invoice.objects.get(organisation=northwind.organisation, kind="return_invoice")
    assert email["to"] == ["primary@northwind.test", *billing_addresses]
    assert email["subject"].startswith(f"Return invoice {returned.number}:")
    assert "It corrects: INV-" in email["body"]


def test_an_annual_subscription_is_told_of_its_renewal_30_days_before_once() -> None:
    organisation, _owner = make_organisation("standard", seats=2, cycle="annual")
    renewal = Subscription.objects.get(organisation=organisation).period_end + timedelta(days=1)
    assert run_billing(renewal - timedelta(days=31)).renewals_announced == []
    report = run_billing(renewal - timedelta(days=30))
    assert report.renewals_announced == [organisation.slug]
    [email] = [e for e in queued_emails() if "renews on" in e["subject"]]
    assert email["to"] == [f"owner@{organisation.slug}.test"]
    assert "¥40,320 excluding tax, ¥44,352 including tax" in email["body"]  # 1,680 × 2 × 12
    assert run_billing(renewal - timedelta(days=29)).renewals_announced == []  # once


def test_a_monthly_subscription_is_not_told_every_month() -> None:
    organisation, _owner = make_organisation("standard", seats=2)
    renewal = Subscription.objects.get(organisation=organisation).period_end + timedelta(days=1)
    assert run_billing(renewal - timedelta(days=5)).renewals_announced == []
