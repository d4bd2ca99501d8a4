"""Closing an organisation (subscriptions/services/closures.py, closing.py): its primary
contact in the Store (typing its address again), staff on its page, operators with
``manage.py close_organisation``; at the end of the paid period (cancelled until then) or now
(a paid plan moves to Free first, its refund requested). A closed organisation's site says
so, nobody signs in, and nothing is billed."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import add_user
from audit.models import AuditEvent
from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import ClosureScheduled
from subscriptions.models import Invoice, RefundRequest, Subscription
from subscriptions.selectors.offers import store_offers
from subscriptions.services import closing, closures, plan_changes
from subscriptions.services.clocks import advance_clock
from tests.conftest import PASSWORD
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


@pytest.fixture
def shop(catalogue: None) -> Organisation:
    organisation, _owner = make_organisation("enterprise", seats=3, slug=f"close-{next(_numbers)}")
    return organisation


def _client(organisation: Organisation, email: str | None = None) -> Client:
    client = Client(HTTP_HOST=f"{organisation.slug}.localhost", HTTP_ACCEPT_LANGUAGE="en")
    with schema_context(organisation.schema_name):
        user = User.objects.get(email=email or f"owner@{organisation.slug}.test")
        client.force_login(user)
    return client


def _subscription(organisation: Organisation) -> Subscription:
    return Subscription.objects.select_related("plan").get(organisation=organisation)


def _close(client: Client, when: str, address: str, key: str) -> Any:
    data = {"when": when, "address": address, "idempotency_key": key}
    return client.post("/store/close/", data)


def _run(*arguments: str) -> str:
    out = io.StringIO()
    call_command(*arguments, stdout=out)
    return out.getvalue()


def test_the_primary_contact_closes_at_the_end_of_the_period_or_cancels_until_then(
    shop: Organisation,
) -> None:
    client = _client(shop)
    page = client.get("/store/close/")
    assert page.status_code == 200 and 'data-testid="close-form"' in page.content.decode()
    period_end = _subscription(shop).period_end

    refused = _close(client, "period_end", "not-" + shop.slug, "k1")
    assert refused.status_code == 400
    assert "That is not the organisation" in refused.content.decode()
    assert _subscription(shop).closes_on is None  # nothing changed

    done = _close(client, "period_end", shop.slug.upper(), "k2")
    assert done.status_code == 302 and done["Location"] == "/store/"
    assert _subscription(shop).closes_on == period_end + timedelta(days=1)
    home = client.get("/store/").content.decode()
    assert 'data-testid="closing"' in home and 'data-testid="cancel-closure"' in home
    assert client.post("/store/close/cancel/", {"idempotency_key": "k3"}).status_code == 302
    assert _subscription(shop).closes_on is None
    actions = AuditEvent.objects.filter(organisation=shop).values_list("action", flat=True)
    assert {"organisation.closure_scheduled", "organisation.closure_cancelled"} <= set(actions)

    # Scheduled again, the closure's day comes: closed, not renewed, nothing billed.
    assert _close(client, "period_end", shop.slug, "k4").status_code == 302
    closes_on = period_end + timedelta(days=1)
    invoices = Invoice.objects.filter(organisation=shop).count()
    out = _run("clock", "advance", "--org", shop.slug, "--to", closes_on.isoformat())
    assert f"{shop.slug}: closed" in out and "renewed" not in out.split("\n")[1]
    closed = Organisation.objects.get(pk=shop.pk)
    assert closed.closed_on == closes_on
    assert Invoice.objects.filter(organisation=shop).count() == invoices
    # Its site says so, to everyone, sign-in included; its static files still load.
    for path in ("/", "/accounts/login/", "/store/"):
        response = Client(HTTP_HOST=f"{shop.slug}.localhost").get(path)
        assert response.status_code == 410 and 'data-testid="closed"' in response.content.decode()
    assert client.get("/static/portal/portal.css").status_code != 410  # WhiteNoise's to serve
    # A month later, the billing run passes it by.
    out = _run(
        "clock", "advance", "--org", shop.slug, "--to", (closes_on + timedelta(days=40)).isoformat()
    )
    assert shop.slug not in out.split("(test clock).")[-1]
    assert Invoice.objects.filter(organisation=shop).count() == invoices
    assert AuditEvent.objects.filter(organisation=shop, action="organisation.closed").count() == 1


def test_closing_now_moves_to_free_requests_the_refund_and_closes_today(
    shop: Organisation,
) -> None:
    advance_clock(shop, clock.today(shop) + timedelta(days=10))
    client = _client(shop)
    page = client.get("/store/close/").content.decode()
    assert 'data-testid="close-refund"' in page  # what closing now gives back
    done = _close(client, "now", shop.slug, "now-1")
    assert done.status_code == 302 and done["Location"] == "/"
    subscription = _subscription(shop)
    assert subscription.plan.code == "free"
    [refund] = RefundRequest.objects.filter(organisation=shop)
    assert refund.status == "pending" and refund.amount > 0
    assert Organisation.objects.get(pk=shop.pk).closed_on == clock.today(shop)
    assert client.get("/").status_code == 410


def test_only_the_primary_contact_closes_the_organisation(shop: Organisation) -> None:
    with schema_context(shop.schema_name):
        add_user(
            email=f"super@{shop.slug}.test",
            full_name="Super",
            password=PASSWORD,
            is_super_admin=True,
            acting_user=None,
        )
    client = _client(shop, f"super@{shop.slug}.test")
    assert 'data-testid="primary-only"' in client.get("/store/close/").content.decode()
    refused = _close(client, "now", shop.slug, "s1")
    assert refused.status_code == 403
    assert Organisation.objects.get(pk=shop.pk).closed_on is None
    assert _subscription(shop).plan.code == "enterprise"  # nothing changed


def test_staff_close_from_the_organisations_page(shop: Organisation) -> None:
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(StaffFactory.create(is_superuser=True))
    url = f"/admin/portal/organisation/{shop.pk}/close/"
    page = client.get(f"/admin/portal/organisation/{shop.pk}/change/").content.decode()
    assert 'data-testid="closing"' in page and "Close now" in page
    client.post(url, {"action": "schedule"})
    assert _subscription(shop).closes_on is not None
    client.post(url, {"action": "cancel"})
    assert _subscription(shop).closes_on is None
    done = client.post(url, {"action": "now"}, follow=True)
    assert "is closed" in done.content.decode()
    assert Organisation.objects.get(pk=shop.pk).closed_on == clock.today(shop)
    # Staff closed it: the refund quote is on the move to Free, no request made for them.
    assert not RefundRequest.objects.filter(organisation=shop).exists()
    again = client.post(url, {"action": "now"}, follow=True)
    assert "was closed on" in again.content.decode()


def test_the_command_closes_once_whatever_the_number_of_runs(shop: Organisation) -> None:
    closes_on = _subscription(shop).period_end + timedelta(days=1)
    line = f"{shop.slug}: closes on {closes_on.isoformat()}, at the end of its period."
    assert line in _run("close_organisation", shop.slug)
    assert line in _run("close_organisation", shop.slug)  # said, not scheduled twice
    assert AuditEvent.objects.filter(action="organisation.closure_scheduled").count() == 1
    assert "the closure is cancelled" in _run("close_organisation", shop.slug, "--cancel")
    out = _run("close_organisation", shop.slug, "--now")
    assert "moved to Free, refund quote JPY" in out and "closed today" in out
    today = clock.today(shop).isoformat()
    assert f"{shop.slug}: closed on {today}." in _run("close_organisation", shop.slug, "--now")
    assert AuditEvent.objects.filter(action="organisation.closed").count() == 1


def test_while_a_closure_waits_the_plan_changes_only_by_closing_now(shop: Organisation) -> None:
    with schema_context(shop.schema_name):
        owner = User.objects.get(email=f"owner@{shop.slug}.test")
    closures.schedule_closure(shop, acting_user=None)
    # The Store's cards say so (the one rule of every change: change_rules).
    offers = {
        offer.plan.code: offer for offer in store_offers(Organisation.objects.get(pk=shop.pk))
    }
    assert isinstance(offers["professional"].refusal, ClosureScheduled)
    assert offers["free"].allowed
    with pytest.raises(ClosureScheduled):
        plan_changes.change_plan(shop, "professional", acting_user=owner)
    assert _subscription(shop).plan.code == "enterprise"  # nothing changed
    closed = closing.close_now(shop, acting_user=None)  # its move to Free is allowed
    assert closed.change is not None and _subscription(shop).plan.code == "free"
    assert Organisation.objects.get(pk=shop.pk).closed_on == clock.today(shop)
