"""Seat changes without a plan change, and monthly ↔ annual switches: in the service, the
Store, the admin and the command (docs/domain.md, Seats; issue 9 points 3 and 4)."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.management import CommandError, call_command

from subscriptions.exceptions import InvalidSeats, KeepListRequired, NothingToBill, SamePlan
from subscriptions.models import Invoice, LedgerLine, PlanChange, Subscription
from subscriptions.money import round_down, round_up
from subscriptions.proration import remaining_days
from subscriptions.services import plan_changes
from tests.conftest import Site, confirmation_of, sending_queued_emails, signed_in
from tests.subscriptions.conftest import make_organisation
from tests.subscriptions.test_backoffice import ORGS, staff_client

pytestmark = pytest.mark.django_db

ENTERPRISE_MONTH = Decimal(6000)  # JPY per seat and month, monthly billing


def _key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page)
    assert match
    return match.group(1)


def test_more_seats_now_are_charged_pro_rata(northwind: Site) -> None:
    organisation = northwind.organisation
    subscription = Subscription.objects.get(organisation=organisation)  # Enterprise, 10 seats
    day = subscription.period_start
    change = plan_changes.change_plan(
        organisation, "enterprise", acting_user=None, seats=12, today=day
    )
    remaining = remaining_days(subscription.period_end, day)
    expected = round_up(
        Fraction(ENTERPRISE_MONTH * 2) * remaining / subscription.period_days, "JPY"
    )
    assert (change.kind, change.seats_before, change.seats_after) == ("seats", 10, 12)
    assert change.amount_due == expected and change.refund_quote == 0
    lines = LedgerLine.objects.filter(organisation=organisation).exclude(kind="payment")
    line = lines.order_by("-id").first()
    assert line is not None and (line.kind, line.amount) == ("seat_charge", expected)
    assert line.invoice is not None and line.invoice.subtotal == expected
    assert Subscription.objects.get(organisation=organisation).seats == 12


def test_fewer_seats_now_give_a_refund_quote_and_ask_who_stays(northwind: Site) -> None:
    organisation = northwind.organisation  # 4 active users on 10 seats
    subscription = Subscription.objects.get(organisation=organisation)
    day = subscription.period_start
    lines_before = LedgerLine.objects.filter(organisation=organisation).count()
    with pytest.raises(KeepListRequired):
        plan_changes.change_plan(organisation, "enterprise", acting_user=None, seats=3, today=day)
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    change = plan_changes.change_plan(
        organisation, "enterprise", acting_user=None, seats=3, keep_user_ids=keep, today=day
    )
    remaining = remaining_days(subscription.period_end, day)
    expected = round_down(
        Fraction(ENTERPRISE_MONTH * 7) * remaining / subscription.period_days, "JPY"
    )
    assert (change.kind, change.refund_quote, change.amount_due) == ("seats", expected, 0)
    assert change.deactivated_user_ids == [northwind.user_ids["agent"]]
    assert LedgerLine.objects.filter(organisation=organisation).count() == lines_before


@pytest.mark.parametrize(
    ("plan", "seats"), [("free", 4), ("enterprise", 10_001), ("enterprise", 0)]
)
def test_seats_out_of_the_plans_bounds_are_refused(plan: str, seats: int) -> None:
    organisation, owner = make_organisation(plan, seats=None if plan == "free" else 5)
    before = Subscription.objects.values().get(organisation=organisation)
    with pytest.raises(InvalidSeats):
        plan_changes.change_plan(organisation, plan, acting_user=owner, seats=seats)
    assert Subscription.objects.values().get(organisation=organisation) == before


def test_the_same_plan_cycle_and_seats_is_no_change(northwind: Site) -> None:
    with pytest.raises(SamePlan):
        plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None, seats=10)
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()


def test_the_store_changes_seats(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    home = client.get("/store/").content.decode()
    assert 'data-testid="change-seats"' in home and 'action="/store/plans/enterprise/"' in home
    page = client.get("/store/plans/enterprise/", {"seats": "12"}).content.decode()
    assert "Change the seats of your Enterprise plan" in page
    assert 'data-testid="charge-notice"' in page and "10 → 12" in page
    response = client.post(
        "/store/plans/enterprise/",
        confirmation_of(page, seats="12", cycle="monthly"),
    )
    assert response.status_code == 302
    change = PlanChange.objects.get(organisation=northwind.organisation)
    assert (change.kind, change.seats_after) == ("seats", 12)
    result = client.get(response["Location"]).content.decode()
    assert "Your organisation now has 12 seats on the Enterprise plan." in result
    assert "seats changed from 10 to 12." in result
    assert ".." not in re.sub(r"<[^>]+>", " ", result)  # "5:46 p.m.." ended a sentence once


def test_the_store_switches_to_annual_billing_with_the_credit_of_the_month(
    northwind: Site,
) -> None:
    organisation = northwind.organisation
    client = signed_in(northwind, "primary")
    home = client.get("/store/").content.decode()
    assert 'href="/store/plans/enterprise/?cycle=annual"' in home
    page = client.get("/store/plans/enterprise/", {"cycle": "annual"}).content.decode()
    assert "Switch to annual billing" in page
    assert 'name="cycle" value="annual"' in page
    response = client.post(
        "/store/plans/enterprise/",
        confirmation_of(page, seats="10", cycle="annual"),
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(organisation=organisation)
    change = PlanChange.objects.get(organisation=organisation)
    annual = Decimal(4800) * 10 * 12
    assert (subscription.cycle, change.kind, subscription.amount_paid) == (
        "annual",
        "cycle",
        annual,
    )
    invoice = Invoice.objects.get(
        organisation=organisation, lines__plan_change=change, kind="invoice"
    )
    returned = Invoice.objects.get(organisation=organisation, kind="return_invoice")
    assert [line.kind for line in invoice.lines.all()] == ["period_charge"]
    assert [line.kind for line in returned.lines.all()] == ["cycle_credit"]
    assert invoice.subtotal - returned.subtotal == change.amount_due
    result = client.get(response["Location"]).content.decode()
    assert "Your organisation is now billed yearly on the Enterprise plan." in result
    # The credit is named, with its return invoice, beside what was charged.
    assert f"Charged now: ¥{invoice.total - returned.total:,.0f}, tax included." in result
    assert f"Return invoice {returned.number}" in result


@pytest.mark.parametrize("options", [{"cycle": "weekly"}, {"seats": "-1"}, {"seats": "x"}])
def test_a_confirmation_with_options_that_do_not_fit_changes_nothing(
    northwind: Site, options: dict[str, str]
) -> None:
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/enterprise/", {"seats": "12"}).content.decode()
    before = Subscription.objects.values().get(organisation=northwind.organisation)
    response = client.post(
        "/store/plans/enterprise/", {**confirmation_of(page, seats="12"), **options}
    )
    assert response.status_code == 400
    assert "message--error" in response.content.decode()
    assert Subscription.objects.values().get(organisation=northwind.organisation) == before
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()


def test_the_command_changes_seats_on_the_current_plan(northwind: Site, capsys) -> None:
    call_command("change_plan", northwind.organisation.slug, "enterprise", "--seats", "12")
    assert "now on enterprise (monthly, 12 seats)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Choose at most 2 users to keep active"):
        call_command("change_plan", northwind.organisation.slug, "enterprise", "--seats", "2")
    call_command(
        "change_plan",
        northwind.organisation.slug,
        "enterprise",
        "--seats",
        "2",
        "--keep-agent",
        northwind.email("primary"),
        "--keep-agent",
        northwind.email("super"),
    )
    change = PlanChange.objects.filter(organisation=northwind.organisation).order_by("-id").first()
    assert change is not None and (change.kind, change.seats_after) == ("seats", 2)
    assert change.refund_quote > 0


def test_staff_change_the_seats_on_the_customers_behalf(northwind: Site) -> None:
    client = staff_client()
    url = f"{ORGS}{northwind.organisation.pk}/change-plan/"
    page = client.get(url, {"plan": "enterprise", "seats": "11"}).content.decode()
    response = client.post(url, confirmation_of(page, plan="enterprise", confirm="1", seats="11"))
    assert response.status_code == 302
    change = PlanChange.objects.get(organisation=northwind.organisation)
    assert (change.kind, change.seats_after, change.actor_kind) == ("seats", 11, "staff")


def test_free_has_no_billing_cycle_to_switch() -> None:
    organisation, owner = make_organisation("free")
    before = Subscription.objects.values().get(organisation=organisation)
    with pytest.raises(NothingToBill):
        plan_changes.change_plan(organisation, "free", acting_user=owner, cycle="annual")
    assert Subscription.objects.values().get(organisation=organisation) == before


def test_the_store_offers_no_cycle_switch_on_free(northwind: Site) -> None:
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    plan_changes.change_plan(northwind.organisation, "free", acting_user=None, keep_user_ids=keep)
    home = signed_in(northwind, "primary").get("/store/").content.decode()
    assert 'data-testid="change-seats"' in home
    assert 'data-testid="switch-cycle"' not in home
    paid = signed_in(northwind, "primary")
    plan_changes.change_plan(northwind.organisation, "standard", acting_user=None, seats=3)
    assert 'data-testid="switch-cycle"' in paid.get("/store/").content.decode()


def test_seat_and_cycle_changes_are_named_as_such_everywhere(northwind: Site) -> None:
    """Not "Enterprise → Enterprise": the history, the email, the result page and the
    activity say what changed."""
    with sending_queued_emails() as queue:
        seats = plan_changes.change_plan(
            northwind.organisation, "enterprise", acting_user=None, seats=12
        )
        cycle = plan_changes.change_plan(
            northwind.organisation, "enterprise", acting_user=None, cycle="annual"
        )
        subjects = [email["subject"] for email in queue.queued()]
    assert subjects == [
        "Northwind Inc. now has 12 seats on the Enterprise plan",
        "Northwind Inc. is now billed yearly on the Enterprise plan",
    ]
    client = signed_in(northwind, "primary")
    home = client.get("/store/").content.decode()
    for text in (
        "Seats of the Enterprise plan: 10 → 12",
        "Billing of the Enterprise plan: monthly → annual",
    ):
        assert home.count(text) == 2, text  # the history and the activity
    assert "Enterprise → Enterprise" not in home
    result = client.get(f"/store/changes/{seats.pk}/").content.decode()
    assert "seats changed from 10 to 12" in result and "Enterprise → Enterprise" not in result
    assert cycle.kind == "cycle"
