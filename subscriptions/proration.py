"""Billing periods and proration (DOMAIN.md, Money). Pure functions of dates and amounts.

A period runs from ``start`` to ``end`` inclusive. A change on ``day`` leaves
``end - day`` remaining days: the change day counts as used.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from subscriptions.money import per_day, round_down, round_up

MONTHS_IN_CYCLE = {"monthly": 1, "annual": 12}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(start: date, cycle: str) -> date:
    """The last day of the period of ``cycle`` that starts on ``start``."""
    return add_months(start, MONTHS_IN_CYCLE[cycle]) - timedelta(days=1)


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
    """The money of one change: at most one of ``refund`` and ``due`` is above zero."""

    remaining_days: int
    paid_daily: Decimal
    new_daily: Decimal
    refund: Decimal
    due: Decimal


def quote_change(
    *,
    paid_daily: Decimal,
    new_period_price: Decimal,
    days_in_period: int,
    remaining: int,
    currency: str,
) -> Quote:
    """DOMAIN.md's formulas: with ``new_daily = new_period_price / days_in_period``,
    a downgrade's refund quote is ``max(0, (paid_daily - new_daily) * R)`` rounded down,
    an upgrade's amount due is ``max(0, (new_daily - paid_daily) * R)`` rounded up."""
    new_daily = per_day(new_period_price, days_in_period)
    difference = (paid_daily - new_daily) * remaining
    refund = round_down(max(Decimal(0), difference), currency)
    due = round_up(max(Decimal(0), -difference), currency)
    return Quote(remaining, paid_daily, new_daily, refund, due)
