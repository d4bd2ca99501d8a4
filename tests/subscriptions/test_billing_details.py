"""Billing details (docs/domain.md): the primary contact or a super admin sets how invoices
are addressed and who receives them; new invoices use them, issued ones never change; a
wrong registration number (its check digit) or too many addresses are refused with the
reason and nothing is saved."""

from __future__ import annotations

import re
from typing import Any

import pytest

from audit.models import AuditEvent
from subscriptions.models import BillingDetails, Invoice
from subscriptions.services import plan_changes
from tests.conftest import Site, signed_in

pytestmark = pytest.mark.django_db

URL = "/store/billing-details/"
DETAILS = {
    "addressee": "ノースウィンド株式会社",
    "attention": "経理部 御中",
    "postal_address": "東京都千代田区丸の内1-1-1\n丸の内ビル 10F",
    "emails": "billing@northwind.test\nkeiri@northwind.test",
    "registration_number": "T7000012050002",
}


def _post(site: Site, role: str = "primary", **changes: str) -> Any:
    client = signed_in(site, role)
    page = client.get(URL)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page.content.decode())
    data = {**DETAILS, **changes, "idempotency_key": key.group(1) if key else "k" * 32}
    return client.post(URL, data)


@pytest.mark.parametrize("role", ["primary", "super"])
def test_new_invoices_use_the_billing_details_and_issued_ones_never_change(
    northwind: Site, role: str
) -> None:
    [issued] = Invoice.objects.filter(organisation=northwind.organisation)
    response = _post(northwind, role)
    assert response.status_code == 302
    details = BillingDetails.objects.get(organisation=northwind.organisation)
    assert details.emails == ["billing@northwind.test", "keiri@northwind.test"]
    event = AuditEvent.objects.filter(action="billing.details_changed").latest("pk")
    assert event.after["registration_number"] == "T7000012050002"

    plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None, seats=12)
    new = Invoice.objects.filter(organisation=northwind.organisation).latest("pk")
    assert (new.buyer_name, new.buyer_attention, new.buyer_registration_number) == (
        "ノースウィンド株式会社",
        "経理部 御中",
        "T7000012050002",
    )
    assert new.buyer_address.startswith("東京都千代田区")
    issued.refresh_from_db()
    assert (issued.buyer_name, issued.buyer_attention) == ("Northwind Inc.", "")
    page = signed_in(northwind, "primary").get(f"/store/invoices/{new.number}/").content.decode()
    assert 'data-testid="buyer-attention">経理部 御中<' in page
    assert 'data-testid="buyer-registration-number">T7000012050002<' in page


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"registration_number": "T1000012050002"}, "wrong check digit"),
        ({"registration_number": "12345"}, "not T followed by 13 digits"),
        ({"emails": "\n".join(f"b{n}@x.test" for n in range(6))}, "at most 5"),
        ({"emails": "billing@x.test\nnot-an-address"}, "is not an email address"),
    ],
)
def test_billing_details_that_cannot_be_are_refused_with_the_reason(
    northwind: Site, changes: dict[str, str], reason: str
) -> None:
    response = _post(northwind, **changes)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not BillingDetails.objects.filter(organisation=northwind.organisation).exists()
    assert not AuditEvent.objects.filter(action="billing.details_changed").exists()


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_only_the_primary_contact_and_super_admins_set_them(northwind: Site, role: str) -> None:
    assert signed_in(northwind, role).get(URL).status_code == 403
    assert _post(northwind, role).status_code == 403
    assert not BillingDetails.objects.filter(organisation=northwind.organisation).exists()
