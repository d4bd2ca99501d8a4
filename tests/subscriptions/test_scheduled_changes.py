"""Changes at the end of the period (issue 10, point 4; docs/domain.md, Time): scheduling one
changes nothing now; the renewal on its day applies it with its seat choice checked
again; it can be cancelled by the customer, staff or an operator; an immediate change
cancels it; one that can no longer be made is set aside and the subscription renews as
it was."""

from __future__ import annotations

import io
import json
from calendar import isleap
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import add_user
from audit.models import AuditEvent
from portal.models import Organisation
from subscriptions.exceptions import (
    KeepListRequired,
    NothingScheduled,
    NotSchedulable,
    NotSubscriptionManager,
    SubscriptionError,
)
from subscriptions.models import (
    LedgerLine,
    PlanChange,
    PlanPrice,
    RefundRequest,
    ScheduledChange,
    Subscription,
)
from subscriptions.selectors.periods import list_price
from subscriptions.services import plan_changes, scheduled_changes
from subscriptions.services.billing import run_billing
from tests.conftest import Site, confirmation_of, queued_emails, signed_in
from tests.subscriptions.conftest import make_organisation
from tests.subscriptions.test_backoffice import staff_client

pytestmark = pytest.mark.django_db


def _subscription(organisation: Organisation) -> Subscription:
    return Subscription.objects.select_related("plan").get(organisation=organisation)


def _lines(organisation: Organisation) -> int:
    return LedgerLine.objects.filter(organisation=organisation).count()


def _active(organisation: Organisation) -> set[str]:
    with schema_context(organisation.schema_name):
        return set(User.objects.filter(is_active=True).values_list("email", flat=True))


def _keep(site: Site, *roles: str) -> list[int]:
    return [site.user_ids[role] for role in roles]


def test_scheduling_a_downgrade_changes_nothing_now(northwind: Site) -> None:
    organisation = northwind.organisation
    before = _subscription(organisation)
    lines = _lines(organisation)
    scheduled = scheduled_changes.schedule_change(
        organisation, "professional", acting_user=northwind.user("primary")
    )
    assert scheduled.status == "scheduled"
    assert scheduled.effective == before.period_end + timedelta(days=1)
    assert (scheduled.to_plan.code, scheduled.seats_after) == ("professional", 10)
    after = _subscription(organisation)
    assert (after.plan.code, after.seats, after.period_end) == ("enterprise", 10, before.period_end)
    assert not PlanChange.objects.filter(organisation=organisation).exists()
    assert not RefundRequest.objects.filter(organisation=organisation).exists()
    assert _lines(organisation) == lines
    event = AuditEvent.objects.get(organisation=organisation, action="plan.change_scheduled")
    assert event.actor_email == northwind.email("primary")
    assert event.after["plan"] == "professional"
    [email] = queued_emails()
    assert email["to"] == [northwind.email("primary")]
    assert "moves to the Professional plan" in email["subject"]
    assert "¥42,000" in email["body"]  # the next bill: 10 seats at ¥4,200


def test_the_renewal_on_its_day_applies_it_once(northwind: Site) -> None:
    organisation = northwind.organisation
    scheduled = scheduled_changes.schedule_change(organisation, "professional", acting_user=None)
    day = scheduled.effective
    assert run_billing(day - timedelta(days=1)).renewed == []  # the period has not ended
    report = run_billing(day)
    assert report.applied == [organisation.slug]
    subscription = _subscription(organisation)
    assert (subscription.plan.code, subscription.seats) == ("professional", 10)
    assert subscription.period_start == day
    price = list_price(subscription.plan, "monthly", 10, "JPY")
    charge = LedgerLine.objects.get(
        organisation=organisation, kind="period_charge", period_start=day
    )
    assert charge.amount == price
    change = PlanChange.objects.get(organisation=organisation)
    assert (change.kind, change.changed_on, change.refund_quote) == ("downgrade", day, 0)
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.plan_change) == ("applied", change)
    subjects = [email["subject"] for email in queued_emails()]
    assert "Northwind Inc. is now on the Professional plan" in subjects
    assert subjects[-1].startswith("Invoice INV-")  # the new period's, after the change's
    actions = set(
        AuditEvent.objects.filter(organisation=organisation).values_list("action", flat=True)
    )
    assert {"subscription.renewed", "plan.changed"} <= actions
    lines = _lines(organisation)
    again = run_billing(day)
    assert (again.renewed, again.applied) == ([], [])
    assert _lines(organisation) == lines


def test_its_seat_choice_is_made_when_scheduling_and_checked_when_it_applies(
    northwind: Site,
) -> None:
    organisation = northwind.organisation
    # Active: primary, super, admin, agent (inactive is not). Free has 3 seats.
    with pytest.raises(KeepListRequired):
        scheduled_changes.schedule_change(organisation, "free", acting_user=None)
    assert not ScheduledChange.objects.filter(organisation=organisation).exists()
    scheduled = scheduled_changes.schedule_change(
        organisation, "free", acting_user=None, keep_user_ids=_keep(northwind, "primary", "super")
    )
    assert _active(organisation) >= {northwind.email("agent"), northwind.email("admin")}
    with schema_context(organisation.schema_name):  # someone joins after it was scheduled
        add_user(email="late@northwind.test", full_name="Late", acting_user=None)
    run_billing(scheduled.effective)
    assert _active(organisation) == {northwind.email("primary"), northwind.email("super")}
    change = PlanChange.objects.get(organisation=organisation)
    assert len(change.deactivated_user_ids) == 3  # admin, agent and the newcomer: kept, inactive
    assert _subscription(organisation).plan.code == "free"


def test_one_that_can_no_longer_be_made_is_set_aside(northwind: Site) -> None:
    organisation = northwind.organisation
    scheduled = scheduled_changes.schedule_change(organisation, "professional", acting_user=None)
    PlanPrice.objects.filter(plan__code="professional").delete()  # the catalogue changed
    report = run_billing(scheduled.effective)
    assert report.not_applied and report.not_applied[0][0] == organisation.slug
    assert not report.failed
    subscription = _subscription(organisation)
    assert (subscription.plan.code, subscription.period_start) == (
        "enterprise",
        scheduled.effective,
    )
    scheduled.refresh_from_db()
    assert scheduled.status == "not_applied" and "professional" in scheduled.note.lower()
    assert AuditEvent.objects.filter(
        organisation=organisation, action="plan.scheduled_change_not_applied"
    ).exists()
    [email] = [email for email in queued_emails() if "could not be made" in email["subject"]]
    assert scheduled.note in email["body"]


def test_a_cycle_switch_at_the_end_starts_a_year_on_its_day() -> None:
    organisation, _owner = make_organisation("professional", seats=2)
    scheduled = scheduled_changes.schedule_change(
        organisation, "professional", acting_user=None, cycle="annual"
    )
    assert scheduled.kind == "cycle"
    run_billing(scheduled.effective)
    subscription = _subscription(organisation)
    day = scheduled.effective
    assert (subscription.cycle, subscription.billing_anchor) == ("annual", day)
    assert subscription.period_end == date(day.year + 1, day.month, day.day) - timedelta(days=1)
    assert subscription.amount_paid == list_price(subscription.plan, "annual", 2, "JPY")


@pytest.mark.parametrize(
    ("plan", "options"),
    [("enterprise", {"seats": 12}), ("enterprise", {"seats": 10})],
    ids=["more seats", "no change"],
)
def test_only_what_lowers_the_bill_may_wait(northwind: Site, plan: str, options: dict) -> None:
    with pytest.raises(SubscriptionError) as caught:
        scheduled_changes.schedule_change(northwind.organisation, plan, acting_user=None, **options)
    assert caught.value.code in {"not_schedulable", "same_plan"}
    assert not ScheduledChange.objects.filter(organisation=northwind.organisation).exists()


def test_an_upgrade_is_always_made_now() -> None:
    organisation, _owner = make_organisation("standard", seats=1)
    with pytest.raises(NotSchedulable):
        scheduled_changes.schedule_change(organisation, "professional", acting_user=None)


def test_cancelling_it_and_who_may(northwind: Site) -> None:
    organisation = northwind.organisation
    scheduled_changes.schedule_change(organisation, "professional", acting_user=None)
    with pytest.raises(NotSubscriptionManager):
        scheduled_changes.cancel_scheduled_change(organisation, acting_user=northwind.user("agent"))
    cancelled = scheduled_changes.cancel_scheduled_change(
        organisation, acting_user=northwind.user("super")
    )
    assert cancelled.status == "cancelled" and cancelled.resolved_by == northwind.email("super")
    assert "was cancelled" in queued_emails()[-1]["subject"]
    with pytest.raises(NothingScheduled):
        scheduled_changes.cancel_scheduled_change(organisation, acting_user=None)
    run_billing(cancelled.effective)
    assert _subscription(organisation).plan.code == "enterprise"


def test_scheduling_again_replaces_the_first(northwind: Site) -> None:
    organisation = northwind.organisation
    first = scheduled_changes.schedule_change(organisation, "professional", acting_user=None)
    second = scheduled_changes.schedule_change(
        organisation, "enterprise", acting_user=None, seats=8
    )
    first.refresh_from_db()
    assert (first.status, second.status, second.kind) == ("cancelled", "scheduled", "seats")
    assert (
        ScheduledChange.objects.filter(organisation=organisation, status="scheduled").count() == 1
    )


def test_an_immediate_change_cancels_it_and_says_so() -> None:
    organisation, _owner = make_organisation("professional", seats=2)
    scheduled = scheduled_changes.schedule_change(organisation, "standard", acting_user=None)
    change = plan_changes.change_plan(organisation, "enterprise", acting_user=None)
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.plan_change) == ("cancelled", change)
    run_billing(scheduled.effective)
    assert _subscription(organisation).plan.code == "enterprise"


def test_the_commands_schedule_list_and_cancel(northwind: Site) -> None:
    organisation = northwind.organisation
    out = io.StringIO()
    call_command(
        "change_plan",
        "northwind",
        "professional",
        "--at-period-end",
        "--keep-agent",
        northwind.email("primary"),
        stdout=out,
    )
    effective = _subscription(organisation).period_end + timedelta(days=1)
    assert f"northwind moves to professional (monthly, 10 seats) on {effective}" in out.getvalue()
    assert _subscription(organisation).plan.code == "enterprise"
    listing = io.StringIO()
    call_command("subscriptions", "--format", "json", stdout=listing)
    row = next(r for r in json.loads(listing.getvalue()) if r["organisation"] == "northwind")
    assert row["scheduled_change"] == {
        "plan": "professional",
        "seats": 10,
        "cycle": "monthly",
        "effective": effective.isoformat(),
    }
    with pytest.raises(CommandError, match="takes no PLAN"):
        call_command("change_plan", "northwind", "free", "--cancel-scheduled")
    call_command("change_plan", "northwind", "--cancel-scheduled", stdout=io.StringIO())
    assert not ScheduledChange.objects.filter(
        organisation=organisation, status="scheduled"
    ).exists()
    with pytest.raises(CommandError, match="no scheduled change"):
        call_command("change_plan", "northwind", "--cancel-scheduled")
    with pytest.raises(CommandError, match="Give the PLAN"):
        call_command("change_plan", "northwind")
    with pytest.raises(CommandError, match="upgrade is made now"):
        call_command("change_plan", "northwind", "enterprise", "--seats", "11", "--at-period-end")


def test_create_organisation_imports_a_customer_from_a_day_in_the_past() -> None:
    # 31 January of the latest leap year (at most four years ago: within the bound).
    leap = max(
        y for y in range(timezone.localdate().year - 4, timezone.localdate().year) if isleap(y)
    )
    out = io.StringIO()
    call_command(
        "create_organisation",
        "--name",
        "Imported KK",
        "--slug",
        "imported",
        "--primary-contact",
        "boss@imported.test",
        "--plan",
        "standard",
        "--seats",
        "2",
        "--period-start",
        date(leap, 1, 31).isoformat(),
        stdout=out,
    )
    subscription = _subscription(Organisation.objects.get(slug="imported"))
    assert (subscription.period_start, subscription.period_end) == (
        date(leap, 1, 31),
        date(leap, 2, 28),
    )
    assert subscription.billing_anchor == date(leap, 1, 31)
    run_billing(date(leap, 4, 1))  # 29 Feb, 31 Mar: the anchor's day when the month has it
    renewed = _subscription(subscription.organisation)
    assert (renewed.period_start, renewed.period_end) == (date(leap, 3, 31), date(leap, 4, 29))
    later = timezone.localdate() + timedelta(days=40)  # a customer starting later
    call_command(
        "create_organisation", "--name", "Later KK", "--slug", "later", "--primary-contact",
        "boss@later.test", "--plan", "standard", "--period-start", later.isoformat(),
        stdout=io.StringIO(),
    )  # fmt: skip
    starting = _subscription(Organisation.objects.get(slug="later"))
    assert (starting.period_start, starting.billing_anchor) == (later, later)
    report = run_billing(timezone.localdate() + timedelta(days=1))
    assert "later" not in [slug for slug, _periods in report.renewed]
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command(
            "create_organisation", "--name", "X", "--slug", "x-bad", "--primary-contact",
            "a@x.test", "--period-start", "31/01/2024",
        )  # fmt: skip
    for far in (date(2000, 1, 1), timezone.localdate() + timedelta(days=400)):
        with pytest.raises(CommandError, match="too far from today"):
            call_command(
                "create_organisation", "--name", "X", "--slug", "x-bad", "--primary-contact",
                "a@x.test", "--period-start", far.isoformat(),
            )  # fmt: skip
    assert not Organisation.objects.filter(slug="x-bad").exists()


@override_settings(SUBSCRIPTIONS_REMINDER_DAYS=7)
def test_a_reminder_goes_out_once_some_days_before(northwind: Site) -> None:
    organisation = northwind.organisation
    scheduled = scheduled_changes.schedule_change(organisation, "professional", acting_user=None)
    assert run_billing(scheduled.effective - timedelta(days=8)).reminded == []
    assert run_billing(scheduled.effective - timedelta(days=7)).reminded == ["northwind"]
    [*_, reminder] = queued_emails()
    assert reminder["to"] == [northwind.email("primary")]
    assert reminder["subject"].startswith("Reminder: Northwind Inc. moves to the Professional")
    scheduled.refresh_from_db()
    assert scheduled.reminded_on == scheduled.effective - timedelta(days=7)
    assert run_billing(scheduled.effective - timedelta(days=3)).reminded == []


# --- The Store ---


def test_the_store_schedules_shows_and_cancels(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/professional/").content.decode()
    assert 'data-testid="schedule"' in page
    response = client.post(
        "/store/plans/professional/",
        confirmation_of(page, when="period_end", seats="10", cycle="monthly"),
    )
    assert response.status_code == 302 and response["Location"].endswith("/store/#scheduled")
    home = client.get("/store/").content.decode()
    assert 'data-testid="scheduled-change"' in home and "Professional" in home
    effective = _subscription(northwind.organisation).period_end + timedelta(days=1)
    assert f"Change to Professional scheduled for {date_format(effective, 'DATE_FORMAT')}" in home
    assert _subscription(northwind.organisation).plan.code == "enterprise"
    confirmation = client.get("/store/plans/free/").content.decode()
    assert 'data-testid="replaces-scheduled"' in confirmation
    assert client.post("/store/scheduled/cancel/", {"idempotency_key": "k-2"}).status_code == 302
    assert 'data-testid="scheduled-change"' not in client.get("/store/").content.decode()


def test_the_store_answers_odd_input_with_the_page(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    response = client.post(
        "/store/plans/professional/", {"when": "tomorrow", "idempotency_key": "k-3"}
    )
    assert response.status_code == 400
    assert not ScheduledChange.objects.filter(organisation=northwind.organisation).exists()
    assert _subscription(northwind.organisation).plan.code == "enterprise"
    upgrade_later = signed_in(northwind, "primary").post(
        "/store/plans/enterprise/",
        {"when": "period_end", "seats": "12", "idempotency_key": "k-4"},
    )
    assert upgrade_later.status_code == 400
    assert not ScheduledChange.objects.filter(organisation=northwind.organisation).exists()


def test_only_managers_cancel_in_the_store(northwind: Site) -> None:
    scheduled_changes.schedule_change(northwind.organisation, "professional", acting_user=None)
    response = signed_in(northwind, "agent").post(
        "/store/scheduled/cancel/", {"idempotency_key": "k"}
    )
    assert response.status_code == 403
    assert ScheduledChange.objects.filter(
        organisation=northwind.organisation, status="scheduled"
    ).exists()


def test_the_result_of_an_immediate_change_says_it_cancelled_the_scheduled_one(
    northwind: Site,
) -> None:
    scheduled_changes.schedule_change(northwind.organisation, "professional", acting_user=None)
    change = plan_changes.change_plan(
        northwind.organisation,
        "professional",
        acting_user=None,
    )
    page = signed_in(northwind, "primary").get(f"/store/changes/{change.pk}/").content.decode()
    assert 'data-testid="schedule-cancelled"' in page


# --- The admin ---


def test_staff_schedule_see_and_cancel_it_in_the_admin(northwind: Site) -> None:
    organisation = northwind.organisation
    client = staff_client()
    url = f"/admin/portal/organisation/{organisation.pk}/change-plan/"
    assert 'name="schedule"' in client.get(url, {"plan": "professional"}).content.decode()
    assert (
        'name="schedule"'
        not in client.get(url, {"plan": "enterprise", "seats": "12"}).content.decode()
    )
    page = client.get(url, {"plan": "professional"}).content.decode()
    response = client.post(url, confirmation_of(page, plan="professional", schedule="1"))
    assert response.status_code == 302
    scheduled = ScheduledChange.objects.get(organisation=organisation, status="scheduled")
    assert (scheduled.actor_kind, scheduled.actor_email) == ("staff", "ops@vendor.test")
    assert _subscription(organisation).plan.code == "enterprise"
    page = client.get(f"/admin/portal/organisation/{organisation.pk}/change/").content.decode()
    assert 'data-testid="scheduled-change"' in page
    support = staff_client("Support", email="support@vendor.test")
    support.post(f"/admin/portal/organisation/{organisation.pk}/cancel-scheduled/")
    scheduled.refresh_from_db()
    assert scheduled.status == "scheduled"  # Support looks only
    client.post(f"/admin/portal/organisation/{organisation.pk}/cancel-scheduled/")
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.resolved_by) == ("cancelled", "ops@vendor.test")
    listing = client.get("/admin/subscriptions/scheduledchange/").content.decode()
    assert "Northwind" in listing


def test_the_admins_schedule_sent_twice_schedules_once(northwind: Site) -> None:
    """The same confirmation (its key) sent again, as a double click or a resent form
    does: one scheduled change, one email, one event; the second answer says the same."""
    organisation = northwind.organisation
    client = staff_client()
    url = f"/admin/portal/organisation/{organisation.pk}/change-plan/"
    page = client.get(url, {"plan": "professional"}).content.decode()
    form = confirmation_of(page, plan="professional", schedule="1")
    first = client.post(url, form)
    second = client.post(url, form)
    assert first.status_code == second.status_code == 302
    [scheduled] = ScheduledChange.objects.filter(organisation=organisation)
    assert scheduled.status == "scheduled"
    assert AuditEvent.objects.filter(action="plan.change_scheduled").count() == 1
    told = [email for email in queued_emails() if "professional" in email["body"].lower()]
    assert len(told) == 1


def test_a_scheduling_key_is_no_pass(northwind: Site) -> None:
    """A repeated key returns the scheduled change only to someone who may change the
    plan now."""
    scheduled = scheduled_changes.schedule_change(
        northwind.organisation, "professional", acting_user=None, idempotency_key="k-1"
    )
    again = scheduled_changes.schedule_change(
        northwind.organisation, "professional", acting_user=None, idempotency_key="k-1"
    )
    assert again.pk == scheduled.pk
    with schema_context(northwind.organisation.schema_name):
        agent = User.objects.get(pk=northwind.user_ids["agent"])
    with pytest.raises(NotSubscriptionManager):
        scheduled_changes.schedule_change(
            northwind.organisation, "professional", acting_user=agent, idempotency_key="k-1"
        )


def test_its_later_emails_are_in_the_language_it_was_scheduled_in(northwind: Site) -> None:
    with translation.override("ja"):
        scheduled = scheduled_changes.schedule_change(
            northwind.organisation, "professional", acting_user=None
        )
    assert scheduled.language == "ja"
    run_billing(scheduled.effective)  # a worker, in the default language
    emails = queued_emails()
    [applied] = [email for email in emails if "予約どおり" in email["body"]]
    assert "プロフェッショナル" in applied["subject"]
    # The new period's invoice, in the worker's language.
    assert any(email["subject"].startswith("Invoice INV-") for email in emails)
