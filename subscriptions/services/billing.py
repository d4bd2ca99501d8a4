"""The daily billing run (``manage.py run_billing``, the worker's daily job, a test clock's
advance): held payments taken, the periods due renewed with the changes scheduled for then,
their invoices' payment asked, the past-due organisations dunned, and the reminders sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import Q

from portal import clock
from subscriptions.models import PaymentStatus, ScheduledChange, Subscription
from subscriptions.selectors.periods import Rates
from subscriptions.services import collection, dunning, reminders, trials
from subscriptions.services.subscription import renew

logger = logging.getLogger(__name__)


@dataclass
class BillingRun:
    """What ``run_billing`` did: the subscriptions renewed (organisation slug and the
    periods started), the scheduled changes applied and set aside, the reminders sent,
    the subscriptions that failed (slug and why), the held payments taken (slug and
    reference), the invoices whose payment was asked and the dunning done (slug and
    what)."""

    today: date
    renewed: list[tuple[str, int]] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    not_applied: list[tuple[str, str]] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    renewals_announced: list[str] = field(default_factory=list)
    trials_ended: list[str] = field(default_factory=list)
    trials_reminded: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    captured: list[tuple[str, str]] = field(default_factory=list)
    collected: list[tuple[str, str]] = field(default_factory=list)
    dunned: list[tuple[str, str]] = field(default_factory=list)


def _collect(report: BillingRun, today: date | None) -> None:
    """Ask the payment of every invoice not asked yet (the periods just renewed): a refusal
    makes the subscription past due (``dunning``). Each organisation's failure is reported
    apart."""
    for invoice in collection.uncollected():
        organisation = invoice.organisation
        day = today or clock.today(organisation)
        try:
            payment = collection.collect(invoice, day=day)
            if payment.status == PaymentStatus.PAID:
                report.collected.append((organisation.slug, f"invoice {invoice.number} paid"))
            else:
                report.collected.append(
                    (organisation.slug, dunning.refused(invoice, payment, day=day))
                )
        except Exception as error:  # unknown outcome: asked again, same key, next run
            logger.exception("Collecting %s failed", invoice.number)
            report.failed.append((organisation.slug, str(error)))


def run_billing(today: date | None = None) -> BillingRun:
    """Renew every subscription whose period ended before its organisation's today (its
    test clock's, or the real date: ``portal.clock``; ``today``, when given, for every
    organisation), applying the changes scheduled for then, each in its own transaction
    under its row lock, so that two runs at once renew each one once and a second run for
    the same day finds nothing; then remind the primary contacts of changes coming soon
    (``reminders``), having asked the payment of the invoices it issued (``collection``).
    One organisation's failure is reported and does not stop the others.
    Work per subscription does not grow with the number of tenant schemas."""
    report = BillingRun(today or clock.today())
    # Each renewal commits on its own, its charges and invoices final: a caller's transaction
    # is refused here (``RuntimeError``), before any renewal (a durable block must be the
    # outermost; the test harness's own transaction passes).
    with transaction.atomic(durable=True):
        pass
    # The payments of changes made whose capture went unanswered: taken first.
    report.captured = collection.capture_held()

    def by_its_day(field: str, lookup: str) -> Q:
        if today is not None:
            return Q(**{f"{field}__{lookup}": today})
        return clock.by_each_clock(field, lookup)

    # Only these can have a change due: one scheduled later in the run is scheduled after
    # its subscription renewed (scheduling renews first), so its day is still to come.
    scheduled = set(
        ScheduledChange.objects.filter(
            by_its_day("effective", "lte"), status=ScheduledChange.Status.SCHEDULED
        ).values_list("organisation_id", flat=True)
    )
    rates: Rates = {}  # the seat rates as the run reads them, each once
    # A closed organisation is billed no more (its closure's day is a due one: it closes).
    due = Subscription.objects.filter(
        by_its_day("period_end", "lt"), organisation__closed_on__isnull=True
    ).order_by("pk")
    for pk, slug in due.values_list("pk", "organisation__slug"):
        try:
            with transaction.atomic(durable=True):
                # Lock the subscription row alone (not the plan or the organisation that
                # every other renewal joins), and skip it if another run renewed it.
                subscription = (
                    Subscription.objects.select_for_update(of=("self",))
                    .select_related("plan", "organisation")
                    .filter(by_its_day("period_end", "lt"), pk=pk)
                    .first()
                )
                if subscription is None:
                    continue
                organisation = subscription.organisation
                renewal = renew(
                    organisation,
                    subscription,
                    today or clock.today(organisation),
                    may_have_scheduled=subscription.organisation_id in scheduled,
                    rates=rates,
                )
        except Exception as error:  # reported; the next organisation is still renewed
            logger.exception("Renewing %s failed", slug)
            report.failed.append((slug, str(error)))
            continue
        if renewal.closed:
            report.closed.append(slug)
            continue
        report.renewed.append((slug, renewal.periods))
        if renewal.applied is not None:
            report.applied.append(slug)
        if renewal.not_applied is not None:
            report.not_applied.append((slug, renewal.not_applied.note))
        if renewal.trial_ended:
            report.trials_ended.append(slug)

    _collect(report, today)
    report.dunned = dunning.run_retries(today)
    reminded, failed = reminders.send_reminders(today)
    report.reminded = reminded
    report.failed.extend(failed)
    renewals, failed = reminders.send_renewal_reminders(today)
    report.renewals_announced = renewals
    report.failed.extend(failed)
    report.trials_reminded, failed = trials.send_trial_reminders(today)
    report.failed.extend(failed)
    return report
