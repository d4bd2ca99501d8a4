"""Refunds paid back through the payment provider (Stripe's SDK over real HTTP to the local
provider): against the payments of the refund's period, never more than they took, the
provider's reference recorded and the return invoice issued; a refusal leaves the request
approved, with the reason."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from subscriptions.models import LedgerLine, Payment, RefundRequest, Subscription
from subscriptions.services import plan_changes, refunds
from subscriptions.services.clocks import advance_clock
from subscriptions.stripe_gateway import client, minor_units
from tests.conftest import Site
from tests.factories import StaffFactory
from tests.subscriptions.test_backoffice import staff_client

pytestmark = pytest.mark.usefixtures("stripe_payments")


def _approved_refund(site: Site) -> RefundRequest:
    """A downgrade five days into a period, its refund requested and approved."""
    subscription = Subscription.objects.get(organisation=site.organisation)
    keep = [site.user_ids[role] for role in ("primary", "super", "admin")]
    change = plan_changes.change_plan(
        site.organisation,
        "professional",
        acting_user=None,
        keep_user_ids=keep,
        today=subscription.period_start + timedelta(days=5),
    )
    refund = refunds.request_refund(
        change, acting_user=site.user("primary"), today=change.changed_on
    )
    staff = StaffFactory.create(permissions=["decide_refundrequest"])
    return refunds.approve_refund(refund, acting_user=staff)


def _review(refund: RefundRequest) -> str:
    return f"/admin/subscriptions/refundrequest/{refund.pk}/change/"


def _decide(refund: RefundRequest) -> str:
    return f"/admin/subscriptions/refundrequest/{refund.pk}/decide/"


def test_an_approved_refund_is_paid_back_against_the_periods_payment(northwind: Site) -> None:
    call_command(
        "test_card", "--org", "northwind", "--number", "4242424242424242", stdout=StringIO()
    )
    renewal = Subscription.objects.get(organisation=northwind.organisation).period_end
    advance_clock(northwind.organisation, renewal + timedelta(days=5))  # paid by the card
    [renewed] = Payment.objects.filter(
        organisation=northwind.organisation, reference__startswith="pi_"
    )
    refund = _approved_refund(northwind)
    lines = LedgerLine.objects.count()

    staff = staff_client()
    page = staff.get(_review(refund)).content.decode()
    assert 'data-testid="pay-refund"' in page
    assert staff.post(_decide(refund), {"decision": "pay"}).status_code == 302

    refund.refresh_from_db()
    renewed.refresh_from_db()
    assert refund.status == "refunded" and refund.payment_reference.startswith("re_")
    paid_back = client().v1.refunds.retrieve(refund.payment_reference)
    assert paid_back.payment_intent == renewed.reference
    assert paid_back.amount == minor_units(refund.amount + refund.tax, "JPY")
    assert renewed.refunded == refund.amount + refund.tax
    # The ledger's line and its return invoice, correcting the renewal's invoice.
    line = LedgerLine.objects.get(kind="refund_paid", refund_request=refund)
    assert LedgerLine.objects.count() == lines + 1
    returned = line.invoice
    assert returned is not None
    assert returned.total == refund.amount + refund.tax
    assert returned.corrects[0]["number"] == renewed.invoice.number
    out = StringIO()
    call_command("reconcile_payments", "--org", "northwind", stdout=out)
    assert out.getvalue().startswith("Clean:")


def test_a_refund_the_provider_cannot_pay_stays_approved_with_the_reason(northwind: Site) -> None:
    """The period was paid outside the provider (the subscription staff started): nothing
    to pay back against, so nothing moves; marking it refunded by bank transfer remains."""
    refund = _approved_refund(northwind)
    lines = LedgerLine.objects.count()
    staff = staff_client()
    answer = staff.post(_decide(refund), {"decision": "pay"}, follow=True)
    assert "more than the provider took for this period" in answer.content.decode()
    refund.refresh_from_db()
    assert (refund.status, refund.payment_reference) == ("approved", "")
    assert LedgerLine.objects.count() == lines
    out = StringIO()
    call_command("refunds", "mark-refunded", str(refund.pk), "--reference", "BANK-1", stdout=out)
    refund.refresh_from_db()
    assert (refund.status, refund.payment_reference) == ("refunded", "BANK-1")
