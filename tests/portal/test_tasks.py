"""The tasks a worker runs: sending an email (retried while SMTP fails), the daily
billing run, and the billing run a worker queues when it starts (``manage.py worker``)."""

from __future__ import annotations

import logging
import smtplib
from datetime import time, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Job
from procrastinate.psycopg_connector import PsycopgConnector

from audit.models import AuditEvent
from audit.selectors import events_about
from audit.services import Action
from portal.tasks import EMAIL_RETRY, send_email
from subscriptions.models import Subscription
from subscriptions.proration import add_months, period_end
from subscriptions.tasks import daily_at, queue_billing_catch_up, run_billing
from tests.conftest import Site

SMTP_DOWN = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def _retry_decision(attempts: int, error: BaseException) -> Any:
    job = Job(
        queue="emails",
        lock=None,
        queueing_lock=None,
        task_name=send_email.name,
        attempts=attempts,
    )
    assert send_email.retry_strategy is EMAIL_RETRY
    return EMAIL_RETRY.get_retry_decision(exception=error, job=job)


def test_an_email_is_retried_through_an_smtp_outage_of_hours() -> None:
    retries = [n for n in range(100) if _retry_decision(n, SMTP_DOWN) is not None]
    assert retries == list(range(EMAIL_RETRY.max_attempts))
    waits = [EMAIL_RETRY.wait(n) for n in retries]
    assert waits[:6] == [60, 120, 240, 480, 960, 1800]  # doubling from a minute...
    assert max(waits) == 30 * 60  # ...then every half hour once the server is back
    assert sum(waits) > 8 * 3600  # rides out an outage of a working night
    assert _retry_decision(0, ConnectionRefusedError()) is not None  # the server is down


def test_an_error_that_is_not_the_smtp_servers_is_not_retried() -> None:
    assert _retry_decision(0, TypeError("a bug")) is None


# --- The daily billing run -------------------------------------------------------------


def test_the_billing_run_is_queued_daily_at_one_oclock_local_time(settings: Any) -> None:
    periodic = app.periodic_registry.periodic_tasks[(run_billing.name, "daily")]
    assert periodic.cron == daily_at(time(1, 0))
    settings.TIME_ZONE = "Asia/Tokyo"  # procrastinate reads cron in UTC
    assert daily_at(time(1, 0)) == "0 16 * * *"
    settings.TIME_ZONE = "Asia/Kolkata"
    assert daily_at(time(1, 0)) == "30 19 * * *"


def test_the_billing_task_renews_what_is_due_and_logs_it(
    northwind: Site, contoso: Site, caplog: pytest.LogCaptureFixture
) -> None:
    today = timezone.localdate()
    # Northwind's monthly subscription started a month ago: its period has ended.
    start = add_months(today, -1)
    ended = period_end(start, "monthly", start)
    Subscription.objects.filter(organisation=northwind.organisation).update(
        billing_anchor=start, period_start=start, period_end=ended
    )
    assert ended < today
    contoso_before = Subscription.objects.get(organisation=contoso.organisation)
    with caplog.at_level(logging.INFO, logger="subscriptions.tasks"):
        run_billing()  # the task's body, as the worker calls it
    renewed = Subscription.objects.get(organisation=northwind.organisation)
    assert renewed.period_start == ended + timedelta(days=1) and renewed.period_end >= today
    assert events_about(renewed).filter(action=Action.SUBSCRIPTION_RENEWED).exists()
    assert Subscription.objects.get(organisation=contoso.organisation) == contoso_before
    assert not AuditEvent.objects.filter(
        organisation=contoso.organisation, action=Action.SUBSCRIPTION_RENEWED
    ).exists()
    assert "northwind: renewed (1 period)" in caplog.text
    assert (
        f"Billing run for {today}: 1 renewed, 0 scheduled changes applied, 0 reminded, 0 failed"
        in caplog.text
    )


def _billing_jobs() -> list[ProcrastinateJob]:
    return list(ProcrastinateJob.objects.filter(task_name=run_billing.name, status="todo"))


def test_workers_starting_together_queue_one_billing_run(db: None) -> None:
    assert queue_billing_catch_up() is True
    assert queue_billing_catch_up() is False  # refused, and the transaction goes on
    [job] = _billing_jobs()
    assert (job.queue_name, job.queueing_lock) == ("billing", "billing")


def test_the_worker_command_queues_a_billing_run_then_runs_a_worker(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[tuple[type, dict[str, Any]]] = []

    async def run_worker_async(**options: Any) -> None:
        runs.append((type(app.connector), options))

    monkeypatch.setattr(app, "run_worker_async", run_worker_async)
    call_command("worker", "--concurrency", "2", "--queues", "emails,billing", "--one-shot")
    call_command("worker", "--one-shot")
    # The command handles the signals itself (it starts the worker again if it stops).
    assert runs == [
        (
            PsycopgConnector,
            {
                "concurrency": 2,
                "queues": ["emails", "billing"],
                "wait": False,
                "install_signal_handlers": False,
            },
        ),
        (PsycopgConnector, {"wait": False, "install_signal_handlers": False}),
    ]
    assert len(_billing_jobs()) == 1
