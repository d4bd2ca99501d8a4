"""Billing periods and proration (docs/domain.md, Money). Pure functions of dates and amounts.

A period runs from ``start`` to ``end`` inclusive. A change on ``day`` leaves
``end - day`` remaining days: the change day counts as used.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from subscriptions.money import per_day, round_down, round_up

MONTHS_IN_CYCLE = {"monthly": 1, "annual": 12}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(start: date, cycle: str, anchor: date | None = None) -> date:
    """The last day of the period of ``cycle`` that starts on ``start``: the day before
    the next period starts. Periods keep the day (and, annual, the month) of the billing
    ``anchor`` (default: ``start``), counted from the anchor so that nothing drifts:
    31 Jan -> 28 Feb -> 31 Mar -> 30 Apr; 29 Feb 2024 -> 28 Feb 2025 -> 29 Feb 2028."""
    anchor = anchor or start
    months = MONTHS_IN_CYCLE[cycle]
    steps = 1
    while (following := add_months(anchor, months * steps)) <= start:
        steps += 1
    return following - timedelta(days=1)


def period_days(start: date, end: date) -> int:
    return (end - start).days + 1


def remaining_days(end: date, day: date) -> int:
    """Days left after ``day`` (which counts as used); 0 once the period is over."""
    return max(0, (end - day).days)


def cycle_price(per_seat_month: Decimal, seats: int, cycle: str) -> Decimal:
    """What one period of ``cycle`` costs: the monthly seat rate × seats × months."""
    return per_seat_month * seats * MONTHS_IN_CYCLE[cycle]


@dataclass(frozen=True)
class Quote:
    """The money of one change: a refund quote (downgrades) or an amount due
    (upgrades), and the value paid for the period at the daily rate that applies
    afterwards. ``paid_daily`` and ``new_daily`` are for display (12 places)."""

    remaining_days: int
    paid_daily: Decimal
    new_daily: Decimal
    refund: Decimal
    due: Decimal
    paid_value_after: Decimal


def quote_change(
    *,
    paid_value: Decimal,
    new_value: Decimal,
    days_in_period: int,
    remaining: int,
    currency: str,
    downgrade: bool,
) -> Quote:
    """docs/domain.md's formulas, with ``paid_daily = paid_value / days`` and
    ``new_daily = new_value / days`` (``new_value``: the new plan's price for the
    cycle and seats): a downgrade's refund quote is ``max(0, (paid_daily - new_daily)
    * R)`` rounded down; an upgrade's amount due is ``max(0, (new_daily - paid_daily)
    * R)`` rounded up. Computed exactly (fractions), rounded once.

    Afterwards the daily value is ``new_daily``, except where the formula was clamped
    at zero: a downgrade below a discounted price keeps the (lower) value paid, and an
    upgrade below what was paid keeps the (higher) one. Taking ``new_daily`` there would
    let a later downgrade refund money that was never paid, breaking the invariant that
    refunds never exceed payments.
    """
    difference = (Fraction(paid_value) - Fraction(new_value)) * remaining / days_in_period
    paid_daily, new_daily = per_day(paid_value, days_in_period), per_day(new_value, days_in_period)
    if downgrade:
        refund = round_down(max(Fraction(0), difference), currency)
        after = min(paid_value, new_value)
        return Quote(remaining, paid_daily, new_daily, refund, Decimal(0), after)
    due = round_up(max(Fraction(0), -difference), currency)
    after = max(paid_value, new_value)
    return Quote(remaining, paid_daily, new_daily, Decimal(0), due, after)


def quote_cycle_switch(
    *,
    paid_value: Decimal,
    days_in_period: int,
    remaining: int,
    new_price: Decimal,
    new_period_days: int,
    currency: str,
) -> Quote:
    """A switch to another billing cycle (docs/domain.md): the unused value of the current
    period, ``paid_value * R / days``, is credited against a new period of the new cycle
    starting on the change day, whose price is ``new_price``. What the credit does not
    cover is due (rounded up); what it exceeds is refunded (rounded down). Computed
    exactly (fractions), rounded once."""
    credit = Fraction(paid_value) * remaining / days_in_period
    difference = credit - Fraction(new_price)
    return Quote(
        remaining_days=remaining,
        paid_daily=per_day(paid_value, days_in_period),
        new_daily=per_day(new_price, new_period_days),
        refund=round_down(max(Fraction(0), difference), currency),
        due=round_up(max(Fraction(0), -difference), currency),
        paid_value_after=new_price,
    )
