"""Billing periods and bills: a subscription as of a day (periods that ended renewed at
list price), the list price of a period, and the next bill. Reads only: the renewal that
books the charges is ``services.subscription.renew_if_due``."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, Q, QuerySet

from portal import clock
from subscriptions.models import BillingCycle, Plan, ScheduledChange, Subscription
from subscriptions.models.catalogue import FREE_PLAN
from subscriptions.proration import cycle_price
from subscriptions.selectors.catalogue import get_plan, seat_rate


def list_price(plan: Plan, cycle: str, seats: int, currency: str) -> Decimal:
    """One period of ``cycle`` on ``plan`` for ``seats`` at list price, tax-exclusive:
    what a renewal charges (one query)."""
    return cycle_price(seat_rate(plan, cycle, currency), seats, cycle)


@dataclass(frozen=True)
class Bill:
    """The charge that opens a billing period: its day and its amount, at list price for
    the plan, cycle and seats of that period (tax-exclusive, as the catalogue's prices;
    0 on Free, which has no charge)."""

    due_on: date
    amount: Decimal
    currency: str
    cycle: str


def bill_after(period_end: date, amount: Decimal, *, currency: str, cycle: str) -> Bill:
    """The bill of the period that follows the one ending on ``period_end``."""
    return Bill(period_end + timedelta(days=1), amount, currency, cycle)


def next_bill(
    subscription: Subscription,
    *,
    today: date | None = None,
    scheduled: ScheduledChange | None = None,
) -> Bill:
    """The subscription's next bill: the renewal after the period ``today`` is in, at
    list price for its plan, cycle and seats, or for those of the ``scheduled`` change
    that starts that period (one query). A change's preview says the same of the
    subscription after the change (``PlanChangePreview.next_bill``)."""
    current = renewed(subscription, today or clock.today(subscription.organisation), scheduled)
    following = _as_scheduled(current, current.period_end + timedelta(days=1), scheduled)
    price = list_price(following.plan, following.cycle, following.seats, following.currency)
    return bill_after(current.period_end, price, currency=following.currency, cycle=following.cycle)


def _as_scheduled(
    subscription: Subscription, start: date, scheduled: ScheduledChange | None
) -> Subscription:
    """The subscription for a period beginning on ``start``: on the plan, cycle and
    seats of the ``scheduled`` change if that is its day (a copy), else as it is."""
    if scheduled is None or not scheduled.is_pending or scheduled.effective != start:
        return subscription
    changed = copy.copy(subscription)
    changed.plan, changed.cycle = scheduled.to_plan, scheduled.to_cycle
    changed.seats = scheduled.seats_after
    if changed.cycle != subscription.cycle:
        changed.billing_anchor = start  # the new cycle's first day, as for a change now
    return changed


def _after_trial(subscription: Subscription, start: date) -> Subscription:
    """The subscription for a period beginning on ``start``: on Free, monthly, with Free's
    seats, if that is the day its trial ends (a copy; ``services.trials.end_trial`` makes
    it so), else as it is."""
    if subscription.trial_ends_on is None or start < subscription.trial_ends_on:
        return subscription
    free = copy.copy(subscription)
    free.plan = get_plan(FREE_PLAN)
    free.cycle, free.billing_anchor = BillingCycle.MONTHLY, start
    free.seats = free.plan.seat_cap or 1
    free.trial_ends_on = None
    return free


# Monthly seat rates by plan id, cycle and currency (``seat_rate``: one query each).
Rates = dict[tuple[int, str, str], Decimal]


def renewals(
    subscription: Subscription,
    today: date,
    scheduled: ScheduledChange | None = None,
    *,
    rates: Rates | None = None,
) -> list[Subscription]:
    """The periods that ``today`` has reached since the subscription's period ended, each
    renewed at list price (the first on the ``scheduled`` change's plan, cycle and seats
    when it starts then; on Free when a trial ends then): one copy of the subscription per
    new period, oldest first (none while the period lasts). The input is unchanged.
    ``rates`` may be shared by many calls (a billing run reads each rate once)."""
    periods: list[Subscription] = []
    rates = {} if rates is None else rates
    current = subscription
    while today > current.period_end:
        start = current.period_end + timedelta(days=1)
        current = copy.copy(_after_trial(_as_scheduled(current, start, scheduled), start))
        key = (current.plan_id, current.cycle, current.currency)
        if key not in rates:
            rates[key] = seat_rate(current.plan, current.cycle, current.currency)
        current.begin_period(start, cycle_price(rates[key], current.seats, current.cycle))
        periods.append(current)
    return periods


def renewed(
    subscription: Subscription, today: date, scheduled: ScheduledChange | None = None
) -> Subscription:
    """The subscription as of ``today``: periods that ended renewed at list price (with
    the ``scheduled`` change when its day has come)."""
    periods = renewals(subscription, today, scheduled)
    return periods[-1] if periods else subscription


def renewals_to_remind(today: date | None, days_before: int) -> QuerySet[Subscription]:
    """Annual subscriptions renewing (not closing) within ``days_before`` days of their
    organisation's today (``today``, when given, for every one) whose renewal reminder for
    the current period has not gone out."""
    if today is not None:
        coming = Q(period_end__gte=today, period_end__lt=today + timedelta(days=days_before))
    else:
        coming = clock.by_each_clock("period_end", "gte") & clock.by_each_clock(
            "period_end", "lt", days=days_before
        )
    not_yet = Q(renewal_reminded_on__isnull=True) | Q(renewal_reminded_on__lt=F("period_start"))
    # One that closes instead of renewing has nothing to announce.
    return Subscription.objects.filter(
        coming, not_yet, cycle=BillingCycle.ANNUAL, closes_on__isnull=True
    ).order_by("pk")
