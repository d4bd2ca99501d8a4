"""Quotes are promises (docs/domain.md): a confirmation applies exactly the figures its page
showed, or nothing. The stale-tab stories of issue 21: a page drawn, then something the
figures depend on moves (another change in another tab, a catalogue price, the day), then
the first page is confirmed: 409, the page drawn again with the new figures and why, and
nothing changed or charged. In the Store, the admin and the command."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from subscriptions.models import PlanChange, PlanPrice, ScheduledChange, Subscription
from subscriptions.services import plan_changes
from tests.conftest import Site, confirmation_of, signed_in
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

STALE = "The figures changed since this page was shown"


def _rows() -> dict[str, list[Any]]:
    """Every row of the subscriptions app: a refused confirmation changes none of them
    (no plan change, ledger line, invoice or audit event: nothing charged)."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_app_config("subscriptions").get_models()
    }


def _charged(page: str) -> str:
    """The amount the confirmation says is charged now (tax included)."""
    found = re.search(r"You are charged (¥[\d,]+) now", page)
    assert found, "the page says what is charged now"
    return found.group(1)


def _on_professional(site: Site) -> None:
    plan_changes.change_plan(site.organisation, "professional", acting_user=None)


def _refused_as_stale(response: Any) -> str:
    assert response.status_code == 409
    page = response.content.decode()
    assert STALE in page and 'data-testid="confirm"' in page  # the page, to confirm anew
    return page


def test_a_stale_upgrade_page_after_a_change_in_another_tab_charges_nothing(
    northwind: Site,
) -> None:
    """Different target: the upgrade to Enterprise is open in one tab, a downgrade to
    Standard is made in another, then the first tab confirms."""
    _on_professional(northwind)
    first_tab = signed_in(northwind, "primary")
    upgrade = first_tab.get("/store/plans/enterprise/").content.decode()
    shown = _charged(upgrade)
    second_tab = signed_in(northwind, "primary")
    downgrade = second_tab.get("/store/plans/standard/").content.decode()
    assert second_tab.post("/store/plans/standard/", confirmation_of(downgrade)).status_code == 302
    before = _rows()

    page = _refused_as_stale(first_tab.post("/store/plans/enterprise/", confirmation_of(upgrade)))
    assert _rows() == before
    assert Subscription.objects.get(organisation=northwind.organisation).plan.code == "standard"
    assert _charged(page) != shown  # the new figures, from Standard
    # Confirmed again from the page drawn with them, the upgrade is made at those figures.
    done = first_tab.post("/store/plans/enterprise/", confirmation_of(page))
    assert done.status_code == 302
    change = PlanChange.objects.filter(organisation=northwind.organisation).latest("pk")
    assert (change.from_plan.code, change.to_plan.code) == ("standard", "enterprise")


def test_a_stale_page_for_the_same_plan_with_other_seats_charges_nothing(
    northwind: Site,
) -> None:
    """Same target: both tabs open the upgrade to Enterprise; the second buys it with 12
    seats; the first (10 seats) would now be a seat reduction with a refund quote."""
    _on_professional(northwind)
    first_tab = signed_in(northwind, "primary")
    upgrade = first_tab.get("/store/plans/enterprise/").content.decode()
    second_tab = signed_in(northwind, "primary")
    more = second_tab.get("/store/plans/enterprise/", {"seats": "12"}).content.decode()
    assert second_tab.post("/store/plans/enterprise/", confirmation_of(more)).status_code == 302
    before = _rows()

    page = _refused_as_stale(first_tab.post("/store/plans/enterprise/", confirmation_of(upgrade)))
    assert _rows() == before
    assert "Prorated refund you can request" in page  # what the move is now
    assert Subscription.objects.get(organisation=northwind.organisation).seats == 12


def test_a_price_edited_between_the_page_and_the_confirmation_charges_nothing(
    northwind: Site,
) -> None:
    _on_professional(northwind)
    client = signed_in(northwind, "primary")
    upgrade = client.get("/store/plans/enterprise/").content.decode()
    shown = _charged(upgrade)
    # Staff raise Enterprise's monthly price in the catalogue meanwhile.
    PlanPrice.objects.filter(plan__code="enterprise", cycle="monthly", currency="JPY").update(
        per_seat_month=Decimal(7000)
    )
    before = _rows()
    page = _refused_as_stale(client.post("/store/plans/enterprise/", confirmation_of(upgrade)))
    assert _rows() == before
    assert _charged(page) != shown and "¥70,000" in page  # the new price, 10 seats


def test_a_page_drawn_yesterday_is_confirmed_at_todays_figures_or_not_at_all(
    northwind: Site,
) -> None:
    _on_professional(northwind)
    client = signed_in(northwind, "primary")
    upgrade = client.get("/store/plans/enterprise/").content.decode()
    before = _rows()
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        page = _refused_as_stale(client.post("/store/plans/enterprise/", confirmation_of(upgrade)))
    assert _rows() == before
    assert _charged(page) != _charged(upgrade)  # a day fewer to charge for


def test_a_stale_schedule_for_the_end_of_the_period_changes_nothing(northwind: Site) -> None:
    first_tab = signed_in(northwind, "primary")
    page = first_tab.get("/store/plans/professional/").content.decode()
    plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None, seats=12)
    before = _rows()
    response = first_tab.post(
        "/store/plans/professional/", confirmation_of(page, when="period_end", seats="10")
    )
    assert response.status_code == 409 and STALE in response.content.decode()
    assert _rows() == before
    assert not ScheduledChange.objects.filter(organisation=northwind.organisation).exists()


def test_a_confirmation_without_the_figures_it_saw_is_not_applied(northwind: Site) -> None:
    """A form from before this rule (or made by hand) binds to nothing: refused, shown."""
    client = signed_in(northwind, "primary")
    form = confirmation_of(client.get("/store/plans/professional/").content.decode())
    before = _rows()
    response = client.post("/store/plans/professional/", {**form, "promise": ""})
    _refused_as_stale(response)
    assert _rows() == before


def test_the_admin_refuses_a_stale_page_on_the_customers_behalf(northwind: Site) -> None:
    _on_professional(northwind)
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(StaffFactory.create(groups=["Billing operations"]))
    url = f"/admin/portal/organisation/{northwind.organisation.pk}/change-plan/"
    page = staff.get(url, {"plan": "enterprise"}).content.decode()
    plan_changes.change_plan(northwind.organisation, "standard", acting_user=None)
    before = _rows()
    response = staff.post(url, confirmation_of(page, plan="enterprise", confirm="1"))
    assert response.status_code == 409
    assert STALE in response.content.decode()
    assert _rows() == before


def test_the_command_applies_the_figures_of_its_dry_run_or_nothing(northwind: Site) -> None:
    slug = northwind.organisation.slug
    out = io.StringIO()
    call_command("change_plan", slug, "professional", "--dry-run", stdout=out)
    [promise] = re.findall(r"^promise: (\w+)$", out.getvalue(), re.M)
    plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None, seats=12)
    before = _rows()
    with pytest.raises(CommandError, match=STALE):
        call_command("change_plan", slug, "professional", "--promise", promise, stdout=out)
    assert _rows() == before
    # With the figures as they are now, it is made.
    out = io.StringIO()
    call_command("change_plan", slug, "professional", "--dry-run", stdout=out)
    [promise] = re.findall(r"^promise: (\w+)$", out.getvalue(), re.M)
    call_command("change_plan", slug, "professional", "--promise", promise, stdout=out)
    assert Subscription.objects.get(organisation=northwind.organisation).plan.code == (
        "professional"
    )
