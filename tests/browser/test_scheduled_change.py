"""A downgrade scheduled for the end of the period, in Japanese, in a real browser: seen
on the Store, then cancelled.

The Japanese of the scheduled change's sentences is recent: the new parts of the pages
are found by data-testid and checked by their values (plan names, dates, prices, as the
Japanese pages write them); of their words, only the section's title and the message of
the cancellation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from django.utils import translation
from django.utils.formats import date_format

from audit.models import AuditEvent
from portal.tenancy import use_public_schema
from subscriptions.models import Plan, PlanChange, RefundRequest, ScheduledChange, Subscription
from tests.browser.test_store import Shop, sign_in
from tests.conftest import drop_schemas
from tests.subscriptions.conftest import make_organisation

# The live server answers from other connections: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SEATS = 10
# Monthly, JPY, per seat per month: what the next period costs for the 10 seats.
PROFESSIONAL_BILL = f"¥{4_200 * SEATS:,}"
ENTERPRISE_BILL = f"¥{6_000 * SEATS:,}"


@pytest.fixture
def shop(catalogue: None, live_server) -> Iterator[Shop]:
    """An organisation of its own on Enterprise with 10 seats, as the session's ones
    (those cannot serve here: the flush after a test with committed data empties them)."""
    organisation, _owner = make_organisation("enterprise", seats=SEATS, slug="yotei")
    port = live_server.url.rsplit(":", 1)[1]
    yield Shop(organisation, f"http://yotei.localhost:{port}")
    use_public_schema()
    drop_schemas("org_yotei")


def japanese_date(day: date) -> str:
    """A date as the Japanese pages write it (2025年7月1日)."""
    with translation.override("ja"):
        return date_format(day, "DATE_FORMAT")


def test_a_downgrade_scheduled_for_the_end_of_the_period_then_cancelled(walk, shop: Shop) -> None:
    organisation = shop.organisation
    subscription = Subscription.objects.get(organisation=organisation)
    effective = subscription.period_end + timedelta(days=1)
    professional = Plan.objects.get(code="professional").name_ja
    enterprise = Plan.objects.get(code="enterprise").name_ja
    steps = walk(locale="ja")
    store = sign_in(steps, shop, "owner@yotei.test")  # the primary contact

    # The Store, in Japanese.
    store.goto(shop.url("/store/"))
    assert store.get_attribute("html", "lang") == "ja"
    assert "ストア" in store.inner_text(".store-header")
    assert enterprise in store.inner_text("[data-testid=current-plan]")
    steps.check("store")

    # The plans → Professional (a downgrade): now, or at the end of the period.
    store.hover("[data-testid=current-plan]")
    store.click("text=プランのアップグレード/ダウングレード")
    store.locator("[data-testid=offer-professional] a.button").click()
    assert professional in store.inner_text("main h1")
    assert store.locator("[data-testid=confirm]").is_visible()
    assert japanese_date(effective) in store.inner_text("[data-testid=schedule]")
    steps.check("confirm")
    store.click("[data-testid=schedule]")
    store.wait_for_url(shop.url("/store/#scheduled"))

    # Back on the Store: the change waits; the plan is still Enterprise, the next bill is
    # Professional's.
    message = store.inner_text(".message--success")
    assert professional in message and japanese_date(effective) in message
    scheduled_section = store.locator("[data-testid=scheduled-change]")
    assert scheduled_section.is_visible()
    assert "予約した変更" in scheduled_section.locator("h2").inner_text()
    assert professional in scheduled_section.inner_text()
    assert japanese_date(effective) in scheduled_section.inner_text()
    assert enterprise in store.inner_text("[data-testid=current-plan] .plan-card__name")
    next_bill = store.inner_text("[data-testid=next-bill]")
    assert PROFESSIONAL_BILL in next_bill and japanese_date(effective) in next_bill
    assert "次回のご請求" in store.inner_text("[data-testid=current-plan]")
    steps.check("scheduled")

    scheduled = ScheduledChange.objects.get(organisation=organisation)
    assert scheduled.status == ScheduledChange.Status.SCHEDULED
    assert scheduled.to_plan.code == "professional"
    assert scheduled.effective == effective
    assert shop.plan() == "enterprise"
    assert not PlanChange.objects.filter(organisation=organisation).exists()
    assert not RefundRequest.objects.filter(organisation=organisation).exists()

    # Cancelled: the plan renews as it is.
    store.click("[data-testid=cancel-scheduled]")
    store.wait_for_url(shop.url("/store/"))
    assert store.locator("[data-testid=scheduled-change]").count() == 0
    assert "予約した変更を取り消しました" in store.inner_text(".message--success")
    assert ENTERPRISE_BILL in store.inner_text("[data-testid=next-bill]")
    assert store.get_attribute("html", "lang") == "ja"
    steps.check("cancelled")

    scheduled.refresh_from_db()
    assert scheduled.status == ScheduledChange.Status.CANCELLED
    assert AuditEvent.objects.filter(
        organisation=organisation, action="plan.scheduled_change_cancelled"
    ).exists()
    assert shop.plan() == "enterprise"
    assert not PlanChange.objects.filter(organisation=organisation).exists()
    assert not RefundRequest.objects.filter(organisation=organisation).exists()
    steps.finish()
