"""The subscriptions' tasks: the daily billing run, and its catch-up when a worker starts.

The task is an interface: ``services.billing.run_billing`` does the work (every
subscription due up to today, each under its row lock, one organisation's failure reported
without stopping the others), so a second run, or two at once, changes nothing twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from typing import Any

from django.db import transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from subscriptions.services import billing, payment_events

logger = logging.getLogger(__name__)

# At most one billing run waiting in the queue: the daily tick and workers' catch-ups add
# nothing while one waits. (No ``lock``: the service serialises runs itself, and a run
# left "doing" by a killed worker would hold a lock, and every later run, for ever.)
BILLING_QUEUEING_LOCK = "billing"


def daily_at(local: time) -> str:
    """A cron line for ``local`` o'clock in ``TIME_ZONE``: procrastinate reads cron in UTC.
    (Where the zone has summer time, the run moves by an hour until a worker restarts.)"""
    moment = datetime.combine(timezone.localdate(), local, timezone.get_default_timezone())
    utc = moment.astimezone(UTC)
    return f"{utc.minute} {utc.hour} * * *"


@app.periodic(cron=daily_at(time(1, 0)), periodic_id="daily")
@app.task(queue="billing", queueing_lock=BILLING_QUEUEING_LOCK)
def run_billing(timestamp: int | None = None) -> None:
    """Renew every subscription due up to today, applying the changes scheduled for then,
    and send the reminders due (``timestamp``: the daily tick's, unused: a late or
    catch-up run bills up to the day it runs)."""
    report = billing.run_billing()
    for slug, periods in report.renewed:
        logger.info("%s: renewed (%d period%s)", slug, periods, "s" if periods > 1 else "")
    for slug in report.applied:
        logger.info("%s: scheduled change applied", slug)
    for slug, reason in report.not_applied:
        logger.warning("%s: scheduled change not applied: %s", slug, reason)
    for slug in report.reminded:
        logger.info("%s: reminded of its scheduled change", slug)
    for slug, reason in report.failed:
        logger.error("%s: failed: %s", slug, reason)
    logger.info(
        "Billing run for %s: %d renewed, %d scheduled changes applied, %d reminded, %d failed",
        report.today,
        len(report.renewed),
        len(report.applied),
        len(report.reminded),
        len(report.failed),
    )


def catch_up_billing(**signal_kwargs: Any) -> None:
    """``portal.signals.worker_starting``: a worker starting queues a billing run."""
    queue_billing_catch_up()


def queue_billing_catch_up() -> bool:
    """Queue a billing run now. A worker calls this when it starts, because procrastinate
    does not run the daily ticks missed while no worker ran. Workers starting together
    queue one run (the queueing lock); returns whether this call queued it."""
    try:
        # A savepoint: the refused insert must not break the caller's transaction.
        with transaction.atomic():
            run_billing.defer()
    except AlreadyEnqueued:
        logger.info("A billing run is already queued")
        return False
    logger.info("Queued a billing run to catch up")
    return True


@app.task(queue="payments")
def process_payment_event(*, event_id: str) -> None:
    """Process an event the payment provider sent (``services.payment_events.process``: a
    second run changes nothing)."""
    stored = payment_events.process(event_id)
    if stored is not None:
        logger.info("Payment event %s (%s): %s", event_id, stored.type, stored.outcome)
