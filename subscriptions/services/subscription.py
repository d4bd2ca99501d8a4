"""Starting an organisation's subscription, and renewing periods that ended (within a
change, or for every subscription due: ``run_billing``), with the change scheduled for
the period's end when its day comes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.services import deactivate_for_seats
from audit.services import Action, record
from portal import clock
from portal.exceptions import DomainError
from portal.models import Organisation
from subscriptions.exceptions import InvalidChoice, ScheduledChangeOutdated
from subscriptions.models import BillingCycle, Currency, PlanChange, ScheduledChange, Subscription
from subscriptions.models.changes import terms_of
from subscriptions.selectors.catalogue import (
    get_plan,
    valid_choice,
    valid_seats,
)
from subscriptions.selectors.change_rules import change_refusal
from subscriptions.selectors.periods import Rates, list_price, renewals
from subscriptions.selectors.scheduled_changes import scheduled_change_of
from subscriptions.services import ledger, notices, reminders, resolutions
from subscriptions.services.guards import require_staff
from subscriptions.services.seats import leaving_when_due
from subscriptions.snapshots import snapshot

logger = logging.getLogger(__name__)


def start_subscription(
    organisation: Organisation,
    *,
    plan_code: str = "free",
    cycle: str = BillingCycle.MONTHLY,
    seats: int | None = None,
    currency: str = Currency.JPY,
    amount_paid: Decimal | None = None,
    acting_user: User | None = None,
    period_start: date | None = None,
) -> Subscription:
    """Put a new organisation on a plan with a first period beginning ``period_start``
    (default today; any day, past or future, for a customer imported from elsewhere),
    its billing anchor. ``amount_paid`` (default: the list price) is what was actually
    paid, discounts included."""
    require_staff(acting_user, "subscriptions.add_subscription")
    plan = get_plan(plan_code)
    valid_choice(cycle, BillingCycle, "billing cycle")
    valid_choice(currency, Currency, "currency")
    seats = valid_seats(plan, seats if seats is not None else (plan.seat_cap or 1))
    price = list_price(plan, cycle, seats, currency)
    paid = price if amount_paid is None else amount_paid
    if paid < 0:
        raise InvalidChoice(value=str(paid), field="amount paid", choices="≥ 0")
    day = period_start or clock.today(organisation)
    with transaction.atomic():
        subscription = Subscription(
            organisation=organisation, plan=plan, cycle=cycle, seats=seats, currency=currency
        )
        subscription.billing_anchor = day
        subscription.begin_period(day, paid)
        subscription.save()
        ledger.book_period_charge(organisation, subscription, issued_on=clock.today(organisation))
        record(
            Action.SUBSCRIPTION_STARTED,
            acting_user=acting_user,
            organisation=organisation,
            target=subscription,
            after=snapshot(subscription),
        )
    return subscription


def renew_if_due(
    organisation: Organisation, subscription: Subscription, today: date
) -> Subscription:
    """Within a change that holds the subscription's lock: start the periods that
    ``today`` has reached at list price, each with its charge, audited; the first of them
    on the scheduled change's plan, cycle and seats when its day has come. Returns the
    subscription as of today."""
    return _renew(organisation, subscription, today).subscription


@dataclass(frozen=True)
class Renewal:
    """What renewing one subscription did: the subscription afterwards, how many
    periods it started, and the scheduled change applied or set aside (with why)."""

    subscription: Subscription
    periods: int = 0
    applied: ScheduledChange | None = None
    not_applied: ScheduledChange | None = None


def _renew(
    organisation: Organisation,
    subscription: Subscription,
    today: date,
    *,
    may_have_scheduled: bool = True,
    rates: Rates | None = None,
) -> Renewal:
    """Book and save the periods ``today`` has reached (``selectors.periods.renewals``),
    applying the scheduled change whose day has come, audited. A billing run says which
    organisations cannot have one (``may_have_scheduled``) and shares its ``rates``."""
    if today <= subscription.period_end:
        return Renewal(subscription)
    scheduled = scheduled_change_of(organisation) if may_have_scheduled else None
    leaving: list[int] = []
    not_applied = None
    if scheduled is not None:
        try:
            leaving = _check_due_change(organisation, subscription, scheduled)
        except DomainError as error:
            with translation.override(scheduled.language or None):  # as its emails say it
                reason = str(error)
            _set_aside(organisation, scheduled, reason=reason)
            scheduled, not_applied = None, scheduled
    periods = renewals(subscription, today, scheduled, rates=rates)
    if scheduled is not None:
        _apply_due_change(organisation, subscription, periods[0], scheduled, leaving)
    for period in periods:
        invoice = ledger.book_period_charge(organisation, period, issued_on=today)
        if invoice is not None:  # every charge sends its document
            notices.send_document(organisation, invoice)
    current = periods[-1]
    before = snapshot(subscription)
    current.save_terms()
    record(
        Action.SUBSCRIPTION_RENEWED,
        acting_user=None,
        organisation=organisation,
        target=current,
        before=before,
        after=snapshot(current),
    )
    return Renewal(current, len(periods), applied=scheduled, not_applied=not_applied)


def _check_due_change(
    organisation: Organisation, subscription: Subscription, scheduled: ScheduledChange
) -> list[int]:
    """Whether the change scheduled for the end of the period can still be made as it
    was chosen: its day is the next period's first, it is still a change that could be
    made (``change_rules.change_refusal``, the rule of every change) at a price the catalogue
    has, and who keeps a seat still fits (``seats.leaving_when_due``). Returns who
    leaves; raises the domain error that stops it."""
    if scheduled.effective != subscription.period_end + timedelta(days=1):
        raise ScheduledChangeOutdated()
    to_plan = scheduled.to_plan
    refusal = change_refusal(
        subscription,
        to_plan,
        to_cycle=scheduled.to_cycle,
        seats_after=valid_seats(to_plan, scheduled.seats_after),
        new_price=list_price(
            to_plan, scheduled.to_cycle, scheduled.seats_after, subscription.currency
        ),
    )
    if refusal is not None:
        raise refusal
    return leaving_when_due(organisation, seats=scheduled.seats_after, kept=scheduled.keep_user_ids)


def _apply_due_change(
    organisation: Organisation,
    before: Subscription,
    after: Subscription,
    scheduled: ScheduledChange,
    leaving: list[int],
) -> None:
    """Make the scheduled change what it became: users without a seat deactivated (never
    deleted), a plan change of the new period's first day (no quote: nothing of the old
    period is left), the scheduled change applied, audited, and the customer told."""
    if leaving:
        with tenant_context(organisation):
            deactivate_for_seats(leaving, acting_user=None, organisation=organisation)
    change = PlanChange.objects.create(
        organisation=organisation,
        **terms_of(scheduled),
        currency=after.currency,
        changed_on=after.period_start,
        period_end=after.period_end,
        remaining_days=0,
        paid_daily_before=before.paid_daily,
        new_daily=after.paid_daily,
        refund_quote=Decimal(0),
        amount_due=Decimal(0),
        new_price=after.amount_paid,  # the new period's list price
        deactivated_user_ids=leaving,
        actor_kind=scheduled.actor_kind,
        actor_id=scheduled.actor_id,
        actor_email=scheduled.actor_email,
    )
    resolutions.resolve(
        organisation,
        scheduled,
        ScheduledChange.Status.APPLIED,
        acting_user=None,
        plan_change=change,
    )
    record(
        Action.PLAN_CHANGED,
        acting_user=None,
        organisation=organisation,
        target=change,
        before=snapshot(before),
        after={
            **snapshot(after),
            "kind": change.kind,
            "scheduled_change": scheduled.pk,
            "deactivated_user_ids": leaving,
        },
    )
    notices.tell_primary_contact(
        organisation, "scheduled_applied", scheduled=scheduled, language=scheduled.language
    )


def _set_aside(organisation: Organisation, scheduled: ScheduledChange, *, reason: str) -> None:
    """A scheduled change whose day came but that can no longer be made: kept as "not
    applied" with the reason, audited, and the customer told; the subscription renews as
    it is."""
    resolutions.resolve(
        organisation, scheduled, ScheduledChange.Status.NOT_APPLIED, acting_user=None, note=reason
    )
    notices.tell_primary_contact(
        organisation, "scheduled_not_applied", scheduled=scheduled, language=scheduled.language
    )


@dataclass
class BillingRun:
    """What ``run_billing`` did: the subscriptions renewed (organisation slug and the
    periods started), the scheduled changes applied and set aside, the reminders sent,
    and the subscriptions that failed (slug and why)."""

    today: date
    renewed: list[tuple[str, int]] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    not_applied: list[tuple[str, str]] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    renewals_announced: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def run_billing(today: date | None = None) -> BillingRun:
    """Renew every subscription whose period ended before its organisation's today (its
    test clock's, or the real date: ``portal.clock``; ``today``, when given, for every
    organisation), applying the changes scheduled for then, each in its own transaction
    under its row lock, so that two runs at once renew each one once and a second run for
    the same day finds nothing; then remind the primary contacts of changes coming soon
    (``reminders``). One organisation's failure is reported and does not stop the others.
    Work per subscription does not grow with the number of tenant schemas."""
    report = BillingRun(today or clock.today())
    # Each renewal commits on its own, its charges and invoices final: a caller's transaction
    # is refused here (``RuntimeError``), before any renewal (a durable block must be the
    # outermost; the test harness's own transaction passes).
    with transaction.atomic(durable=True):
        pass

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
    due = Subscription.objects.filter(by_its_day("period_end", "lt")).order_by("pk")
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
                renewal = _renew(
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
        report.renewed.append((slug, renewal.periods))
        if renewal.applied is not None:
            report.applied.append(slug)
        if renewal.not_applied is not None:
            report.not_applied.append((slug, renewal.not_applied.note))
    reminded, failed = reminders.send_reminders(today)
    report.reminded = reminded
    report.failed.extend(failed)
    renewals, failed = reminders.send_renewal_reminders(today)
    report.renewals_announced = renewals
    report.failed.extend(failed)
    return report
