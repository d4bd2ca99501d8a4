"""One clock (portal/clock.py, services/clocks.py, manage.py clock, run_billing --today):
every page, quote, renewal, reminder and invoice of an organisation agrees about its
today; a test clock moves one organisation (or all) forward on a demo, through a renewal;
a billing run never books a period that has not begun."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.formats import date_format

from audit.models import AuditEvent
from portal import clock
from portal.models import Organisation
from portal.production import unmet_needs
from subscriptions.exceptions import ClockRefused
from subscriptions.models import Invoice, LedgerLine, PlanChange, Subscription
from subscriptions.services import plan_changes, scheduled_changes
from subscriptions.services.billing import run_billing
from subscriptions.services.clocks import advance_clock
from tests.conftest import Site, on, queued_emails, signed_in
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _subscription(site: Site) -> Subscription:
    return Subscription.objects.get(organisation=site.organisation)


def _advance(*arguments: str) -> str:
    out = io.StringIO()
    call_command("clock", "advance", *arguments, stdout=out)
    return out.getvalue()


def test_a_test_clock_carries_an_organisation_through_its_renewal(
    northwind: Site, contoso: Site
) -> None:
    renewal_day = _subscription(northwind).period_end + timedelta(days=1)
    charges_before = LedgerLine.objects.filter(organisation=contoso.organisation).count()
    out = _advance("--org", "northwind", "--to", renewal_day.isoformat())
    assert f"northwind: today is {renewal_day.isoformat()} (test clock)." in out
    assert "northwind: renewed (1 period)" in out
    renewed = _subscription(northwind)
    assert renewed.period_start == renewal_day
    invoice = Invoice.objects.filter(organisation=northwind.organisation).latest("pk")
    assert invoice.issued_on == renewal_day  # dated by the organisation's clock
    # Another organisation stays on the real date: nothing of it moved.
    assert LedgerLine.objects.filter(organisation=contoso.organisation).count() == charges_before
    assert clock.today(Organisation.objects.get(slug="contoso")) == timezone.localdate()
    event = AuditEvent.objects.filter(action="clock.advanced").latest("pk")
    assert (event.organisation_id, event.after) == (
        northwind.organisation.pk,
        {"today": renewal_day.isoformat()},
    )


def test_every_page_and_quote_of_the_organisation_reads_its_clock(
    northwind: Site, contoso: Site
) -> None:
    later = timezone.localdate() + timedelta(days=10)
    advance_clock(northwind.organisation, later)
    client = signed_in(northwind, "primary")
    for path in ("/", "/store/", "/store/plans/professional/"):
        page = client.get(path).content.decode()
        assert 'data-testid="test-clock"' in page, path
        assert date_format(later, "DATE_FORMAT") in page, path
    # The quote counts the days left from the clock's today, not the real one.
    period_end = _subscription(northwind).period_end
    remaining = (period_end - later).days
    page = client.get("/store/plans/professional/").content.decode()
    assert re.search(rf"Remaining days in the period</dt><dd>{remaining}<", page)
    change = plan_changes.change_plan(
        Organisation.objects.get(pk=northwind.organisation.pk), "professional", acting_user=None
    )
    assert (change.changed_on, change.remaining_days) == (later, remaining)
    # A site on the real date says nothing of clocks.
    elsewhere = signed_in(contoso, "primary").get("/store/")
    assert elsewhere.status_code == 200
    assert 'data-testid="test-clock"' not in elsewhere.content.decode()


def test_a_plain_billing_run_renews_each_organisation_as_of_its_own_clock(
    northwind: Site, contoso: Site
) -> None:
    renewal_day = _subscription(northwind).period_end + timedelta(days=1)
    Organisation.objects.filter(pk=northwind.organisation.pk).update(clock_date=renewal_day)
    report = run_billing()
    assert [slug for slug, _periods in report.renewed] == ["northwind"]
    assert report.today == timezone.localdate()
    assert run_billing().renewed == []  # a second run finds nothing


def test_reminders_come_by_the_organisations_clock(northwind: Site, settings: Any) -> None:
    scheduled = scheduled_changes.schedule_change(
        northwind.organisation, "professional", acting_user=None
    )
    before = len(queued_emails())
    reminder_day = scheduled.effective - timedelta(days=settings.SUBSCRIPTIONS_REMINDER_DAYS)
    Organisation.objects.filter(pk=northwind.organisation.pk).update(clock_date=reminder_day)
    assert run_billing().reminded == ["northwind"]
    assert len(queued_emails()) == before + 1
    scheduled.refresh_from_db()
    assert scheduled.reminded_on == reminder_day


def test_a_clock_never_goes_back_nor_decades_ahead(northwind: Site) -> None:
    later = timezone.localdate() + timedelta(days=40)
    advance_clock(northwind.organisation, later)
    for day, reason in (
        (later - timedelta(days=1), "a clock never goes back"),
        (timezone.localdate() + timedelta(days=5 * 366), "give a day up to"),
    ):
        with pytest.raises(CommandError, match=reason):
            _advance("--org", "northwind", "--to", day.isoformat())
    assert Organisation.objects.get(pk=northwind.organisation.pk).clock_date == later


def test_every_organisation_moves_with_all(northwind: Site, contoso: Site) -> None:
    later = timezone.localdate() + timedelta(days=3)
    out = _advance("--all", "--to", later.isoformat())
    assert f"every organisation: today is {later.isoformat()}" in out
    assert set(Organisation.objects.values_list("clock_date", flat=True)) == {later}
    event = AuditEvent.objects.filter(action="clock.advanced").latest("pk")
    assert (event.organisation_id, event.target) == (None, "clock:all")
    shown = io.StringIO()
    call_command("clock", "show", stdout=shown)
    assert f"northwind: {later.isoformat()} (test clock)" in shown.getvalue()


def test_test_clocks_do_nothing_when_they_are_off(northwind: Site, settings: Any) -> None:
    Organisation.objects.filter(pk=northwind.organisation.pk).update(
        clock_date=timezone.localdate() + timedelta(days=300)
    )
    settings.PORTAL_TEST_CLOCKS = False
    organisation = Organisation.objects.get(pk=northwind.organisation.pk)
    assert clock.today(organisation) == timezone.localdate()
    assert run_billing().renewed == []
    page = signed_in(northwind, "primary").get("/store/").content.decode()
    assert 'data-testid="test-clock"' not in page
    with pytest.raises(ClockRefused, match="test clocks are off"):
        advance_clock(organisation, timezone.localdate() + timedelta(days=301))


def test_the_admin_shows_each_organisations_today(northwind: Site) -> None:
    later = timezone.localdate() + timedelta(days=2)
    advance_clock(northwind.organisation, later)
    client = signed_in(northwind, "primary")
    client.defaults["HTTP_HOST"] = "localhost"
    client.force_login(StaffFactory.create(groups=["Support"]))
    listing = client.get("/admin/portal/organisation/").content.decode()
    assert f"{date_format(later, 'DATE_FORMAT')} (test clock)" in listing
    detail = client.get(f"/admin/portal/organisation/{northwind.organisation.pk}/change/")
    assert "(test clock)" in detail.content.decode()


# --- run_billing --today ----------------------------------------------------------------


def test_a_billing_run_refuses_a_day_that_has_not_come(northwind: Site) -> None:
    """The finding: --today a year ahead booked next year's renewal now (an invoice dated
    next year, numbered before older ones), and every quote after it counted 730 days."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    charges = LedgerLine.objects.count()
    with pytest.raises(CommandError, match=r"is after today .* books only periods that have begun"):
        call_command("run_billing", "--today", tomorrow.isoformat(), stdout=io.StringIO())
    assert LedgerLine.objects.count() == charges


def test_a_billing_run_catches_up_with_a_day_that_passed(northwind: Site) -> None:
    renewal_day = _subscription(northwind).period_end + timedelta(days=1)
    out = io.StringIO()
    with on(renewal_day + timedelta(days=3)):  # the worker was down for three days
        call_command("run_billing", "--today", renewal_day.isoformat(), stdout=out)
    assert "northwind: renewed (1 period)" in out.getvalue()
    assert _subscription(northwind).period_start == renewal_day
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()


def test_the_production_server_refuses_test_clocks_unless_a_demo(settings: Any) -> None:
    settings.DEBUG, settings.PORTAL_TEST_CLOCKS, settings.SUBSCRIPTIONS_DEMO = False, True, False
    assert "PORTAL_TEST_CLOCKS" in [need.variable for need in unmet_needs()]
    settings.SUBSCRIPTIONS_DEMO = True
    assert "PORTAL_TEST_CLOCKS" not in [need.variable for need in unmet_needs()]


def test_a_day_without_a_clock_is_the_real_date() -> None:
    assert clock.today() == timezone.localdate()
    assert clock.today(Organisation(name="x", slug="x", clock_date=date(2030, 1, 1))) == date(
        2030, 1, 1
    )
