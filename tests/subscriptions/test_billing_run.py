"""manage.py run_billing: every subscription due is renewed once, with its charge and
audit event; a second run changes nothing; two runs at once renew each one once; one
organisation's failure does not stop the others (issue 10, point 6)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent
from portal.models import Organisation
from portal.tenancy import use_public_schema
from subscriptions.models import LedgerLine, PlanPrice, Subscription
from subscriptions.services.billing import run_billing
from tests.conftest import Site, drop_schemas, on
from tests.subscriptions.conftest import make_organisation


def _charges(organisation: Organisation) -> int:
    return LedgerLine.objects.filter(organisation=organisation, kind="period_charge").count()


@pytest.mark.django_db
def test_run_billing_renews_what_is_due_once(northwind: Site, contoso: Site) -> None:
    subscription = Subscription.objects.get(organisation=northwind.organisation)
    day = subscription.period_end + timedelta(days=1)
    before = {site.organisation.slug: _charges(site.organisation) for site in (northwind, contoso)}
    out = io.StringIO()
    with on(day):
        call_command("run_billing", stdout=out)
    assert "northwind: renewed (1 period)" in out.getvalue()
    assert "2 renewed, 0 scheduled changes applied, 0 reminded, 0 failed." in out.getvalue()
    renewed = Subscription.objects.get(organisation=northwind.organisation)
    assert renewed.period_start == day
    for site in (northwind, contoso):
        assert _charges(site.organisation) == before[site.organisation.slug] + 1
        event = AuditEvent.objects.filter(organisation=site.organisation).first()
        assert event is not None and "renew" in event.action
    again = io.StringIO()
    with on(day):
        call_command("run_billing", "--today", day.isoformat(), stdout=again)
    assert "0 renewed, 0 scheduled changes applied, 0 reminded, 0 failed." in again.getvalue()
    assert _charges(northwind.organisation) == before["northwind"] + 1


@pytest.mark.django_db
def test_a_failure_is_reported_and_the_others_are_renewed(northwind: Site) -> None:
    broken, _owner = make_organisation("standard", seats=1, currency="USD")
    PlanPrice.objects.filter(plan__code="standard", currency="USD").delete()  # no price now
    day = Subscription.objects.get(organisation=northwind.organisation).period_end
    day += timedelta(days=1)
    report = run_billing(day)
    assert [slug for slug, _reason in report.failed] == [broken.slug]
    assert "northwind" in [slug for slug, _periods in report.renewed]
    assert Subscription.objects.get(organisation=northwind.organisation).period_start == day
    with on(day), pytest.raises(CommandError, match=r"1 organisation\(s\) failed"):
        call_command("run_billing", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_subscriptions_command_gives_the_period_and_its_anchor(northwind: Site) -> None:
    out = io.StringIO()
    call_command("subscriptions", "--format", "json", stdout=out)
    row = next(r for r in json.loads(out.getvalue()) if r["organisation"] == "northwind")
    subscription = Subscription.objects.get(organisation=northwind.organisation)
    assert row["period_start"] == subscription.period_start.isoformat()
    assert row["period_end"] == subscription.period_end.isoformat()
    assert row["anchor_day"] == subscription.billing_anchor.day
    assert row["anchor_month"] is None  # monthly
    assert row["scheduled_change"] is None


@pytest.fixture
def due(catalogue: None) -> Iterator[list[Organisation]]:
    organisations = [
        make_organisation("standard", seats=1, slug=f"billing-race-{n}")[0] for n in range(3)
    ]
    yield organisations
    use_public_schema()
    drop_schemas(*(f"org_billing_race_{n}" for n in range(3)))


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_renew_each_subscription_once(due: list[Organisation]) -> None:
    day = Subscription.objects.get(organisation=due[0]).period_end + timedelta(days=1)
    barrier = threading.Barrier(2)
    outputs = []

    def run() -> None:
        out = io.StringIO()
        try:
            barrier.wait(timeout=10)
            call_command("run_billing", stdout=out)  # exits 0
            outputs.append(out.getvalue())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    with on(day):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert len(outputs) == 2 and all(", 0 failed." in output for output in outputs)
    lines = [line for output in outputs for line in output.splitlines()]
    renewed = [line.split(":")[0] for line in lines if "renewed (" in line]
    assert len(renewed) == len(set(renewed))  # each subscription by one run only
    assert {organisation.slug for organisation in due} <= set(renewed)
    for organisation in due:
        assert _charges(organisation) == 2  # the first period and one renewal
        assert Subscription.objects.get(organisation=organisation).period_start == day


@pytest.mark.django_db
def test_a_catch_up_issues_its_invoices_on_the_day_it_runs(northwind: Site) -> None:
    """Invoice numbers follow their dates: a run that catches up with days it missed dates
    its invoices the day it issues them (the lines keep the period's first day)."""
    renewal = Subscription.objects.get(organisation=northwind.organisation).period_end
    renewal += timedelta(days=1)
    late = renewal + timedelta(days=3)
    with on(late):  # the worker was down three days
        call_command("run_billing", stdout=io.StringIO())
    lines = LedgerLine.objects.filter(organisation=northwind.organisation)
    line = lines.exclude(kind="payment").latest("pk")
    assert line.booked_on == renewal and line.period_start == renewal
    assert line.invoice is not None and line.invoice.issued_on == late
    # Paid the day the run asked it (the record-only gateway takes what it is asked).
    assert line.invoice.status == "paid"
    received = lines.get(kind="payment", payment__invoice=line.invoice)
    assert (received.booked_on, received.amount) == (late, line.invoice.total)
