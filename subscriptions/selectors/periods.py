"""Billing periods and bills: a subscription as of a day (periods that ended renewed at
list price), the list price of a period, and the next bill. Reads only: the renewal that
books the charges is ``services.subscription.renew_if_due``."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from subscriptions.models import Plan, Subscription
from subscriptions.proration import cycle_price
from subscriptions.selectors.catalogue import seat_rate


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


def next_bill(subscription: Subscription, *, today: date | None = None) -> Bill:
    """The subscription's next bill: the renewal after the period ``today`` is in, at
    list price for its plan, cycle and seats (one query). A change's preview says the
    same of the subscription after the change (``PlanChangePreview.next_bill``)."""
    current = renewed(subscription, today or timezone.localdate())
    price = list_price(current.plan, current.cycle, current.seats, current.currency)
    return bill_after(current.period_end, price, currency=current.currency, cycle=current.cycle)


def renewals(subscription: Subscription, today: date) -> list[Subscription]:
    """The periods that ``today`` has reached since the subscription's period ended, each
    renewed at list price: one copy of the subscription per new period, oldest first
    (none while the period lasts). The input is unchanged."""
    if today <= subscription.period_end:
        return []
    price = list_price(
        subscription.plan, subscription.cycle, subscription.seats, subscription.currency
    )
    periods = []
    current = subscription
    while today > current.period_end:
        current = copy.copy(current)
        current.begin_period(current.period_end + timedelta(days=1), price)
        periods.append(current)
    return periods


def renewed(subscription: Subscription, today: date) -> Subscription:
    """The subscription as of ``today``: periods that ended renewed at list price."""
    periods = renewals(subscription, today)
    return periods[-1] if periods else subscription
