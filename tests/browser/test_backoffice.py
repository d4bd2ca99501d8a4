"""A billing-operations staff member approves a refund in the admin, in Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, Permission

from audit.selectors import events_about
from portal.tenancy import use_public_schema
from subscriptions.models import RefundRequest
from subscriptions.services import plan_changes, refunds
from tests.conftest import drop_schemas
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password-42"


@pytest.fixture
def pending_refund(catalogue: None, live_server) -> Iterator[tuple[RefundRequest, str]]:
    organisation, owner = make_organisation("enterprise", seats=3, slug="shinsei")
    change = plan_changes.change_plan(organisation, "professional", acting_user=owner)
    refund = refunds.request_refund(change, acting_user=owner)
    # The transactional flush of earlier tests emptied the groups; make the one we need.
    group, _ = Group.objects.get_or_create(name="Billing operations")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="subscriptions",
            codename__in=["view_refundrequest", "decide_refundrequest"],
        )
    )
    StaffFactory.create(email="billing@vendor.test", password=PASSWORD, groups=[group.name])
    yield refund, live_server.url
    use_public_schema()
    drop_schemas("org_shinsei")


def test_staff_approve_a_refund_in_the_admin(walk, pending_refund) -> None:
    refund, base = pending_refund
    steps = walk(locale="en")
    page = steps.page
    page.goto(f"{base}/admin/login/?next=/admin/subscriptions/refundrequest/")
    page.wait_for_url("**/accounts/login/**")  # the admin's sign-in is allauth's
    page.fill("input[name=login]", "billing@vendor.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/admin/subscriptions/refundrequest/")
    assert "Shinsei" in page.inner_text("#result_list")
    steps.check("queue", accessibility=False)
    page.click(f"#result_list a[href$='/refundrequest/{refund.pk}/change/']")
    assert "The plan change and its quote" in page.inner_text("#content")
    steps.check("review", accessibility=False)
    page.click("button[value=approve]")
    assert "Approved" in page.inner_text(".messagelist")
    steps.check("approved", accessibility=False)
    refund.refresh_from_db()
    assert refund.status == "approved" and refund.decided_by == "billing@vendor.test"
    assert (
        events_about(refund)
        .filter(action="refund.approved", actor_email="billing@vendor.test")
        .exists()
    )
    steps.finish()
