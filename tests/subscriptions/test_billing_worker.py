"""Renewals by real workers (issue 10, points 3 and 7): two procrastinate workers, each
with its own billing-run job, running at the same time on committed data renew every due
subscription once; the scheduled change due that day is applied once. The workers are
procrastinate's, on their own connection pool, with the project's task middleware."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import pytest
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.models import ProcrastinateJob

from audit.models import AuditEvent
from organisations.services import create_organisation
from portal.models import Organisation
from portal.tenancy import use_public_schema
from subscriptions.models import LedgerLine, PlanChange, ScheduledChange, Subscription
from subscriptions.proration import add_months
from subscriptions.services import scheduled_changes
from subscriptions.tasks import run_billing
from tests.conftest import drop_schemas, empty_the_queue

pytestmark = pytest.mark.django_db(transaction=True)

SLUGS = [f"worker-billing-{n}" for n in range(3)]


@pytest.fixture
def due(catalogue: None) -> Iterator[list[Organisation]]:
    """Three organisations whose first period, begun a month ago, has ended."""
    start = add_months(timezone.localdate(), -1)
    organisations = [
        create_organisation(
            name=slug,
            slug=slug,
            primary_contact_email=f"owner@{slug}.test",
            plan_code="professional",
            seats=2,
            period_start=start,
        ).organisation
        for slug in SLUGS
    ]
    yield organisations
    empty_the_queue()
    use_public_schema()
    drop_schemas(*(f"org_{slug.replace('-', '_')}" for slug in SLUGS))


def _two_workers_at_once() -> None:
    """Two workers on the billing queue, side by side, until no job is ready. Their
    periodic deferrers queue no tick that has passed: within ten minutes of the daily run's
    time (01:00 in TIME_ZONE), a worker starting would otherwise queue a third run."""
    assert isinstance(app.connector, DjangoConnector)
    defaults = dict(app.periodic_defaults)
    app.periodic_defaults["max_delay"] = 0

    async def both() -> None:
        async with app.open_async():
            await asyncio.gather(
                *(
                    app.run_worker_async(
                        name=name,
                        queues=["billing"],
                        wait=False,
                        install_signal_handlers=False,
                        listen_notify=False,
                    )
                    for name in ("worker-a", "worker-b")
                )
            )

    try:
        with app.replace_connector(app.connector.get_worker_connector()):
            asyncio.run(both())
    finally:
        app.periodic_defaults.clear()
        app.periodic_defaults.update(defaults)


def test_two_workers_at_once_renew_each_subscription_once(
    due: list[Organisation], caplog: pytest.LogCaptureFixture
) -> None:
    first = Subscription.objects.get(organisation=due[0])
    scheduled = scheduled_changes.schedule_change(
        due[0], "standard", acting_user=None, today=first.period_start
    )
    day = scheduled.effective  # the first day after the period
    assert day <= timezone.localdate()
    # Two runs that overlap: without the task's own lock, as if two were started at once.
    jobs = [
        run_billing.configure(lock=f"test-{n}", queueing_lock=f"test-{n}").defer() for n in range(2)
    ]
    with caplog.at_level(logging.INFO, logger="subscriptions.tasks"):
        _two_workers_at_once()
    assert not ProcrastinateJob.objects.filter(id__in=jobs).exists()  # both succeeded
    runs = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Billing run")]
    assert len(runs) == 2  # each worker ran one, and between them renewed each once
    assert sum(int(n) for run in runs for n in re.findall(r"(\d+) renewed", run)) == len(due)
    for organisation in due:
        charges = LedgerLine.objects.filter(organisation=organisation, kind="period_charge")
        assert charges.count() == 2  # the first period and one renewal
        renewals = AuditEvent.objects.filter(
            organisation=organisation, action="subscription.renewed"
        )
        assert renewals.count() == 1
        assert Subscription.objects.get(organisation=organisation).period_start == day
    scheduled.refresh_from_db()
    assert scheduled.status == ScheduledChange.Status.APPLIED
    assert PlanChange.objects.filter(organisation=due[0]).count() == 1
    assert Subscription.objects.get(organisation=due[0]).plan.code == "standard"
