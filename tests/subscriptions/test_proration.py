"""docs/domain.md's money rules as pure functions: periods, remaining days, quotes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from subscriptions.money import format_amount, per_day, round_down, round_up
from subscriptions.proration import (
    add_months,
    cycle_price,
    period_days,
    period_end,
    quote_change,
    remaining_days,
)


def quote(paid: Decimal, new_price: Decimal, start: date, end: date, day: date, currency: str):
    return quote_change(
        paid_value=paid,
        new_value=new_price,
        days_in_period=period_days(start, end),
        remaining=remaining_days(end, day),
        currency=currency,
        downgrade=new_price < paid,
    )


@pytest.mark.parametrize(
    ("start", "cycle", "end", "days"),
    [
        (date(2026, 1, 1), "monthly", date(2026, 1, 31), 31),
        (date(2026, 2, 1), "monthly", date(2026, 2, 28), 28),
        (date(2028, 2, 1), "monthly", date(2028, 2, 29), 29),  # leap year
        (date(2026, 1, 31), "monthly", date(2026, 2, 27), 28),  # clamped to February's end
        (date(2026, 11, 26), "annual", date(2027, 11, 25), 365),
        (date(2028, 1, 1), "annual", date(2028, 12, 31), 366),  # leap year
    ],
)
def test_periods(start: date, cycle: str, end: date, days: int) -> None:
    assert period_end(start, cycle) == end
    assert period_days(start, end) == days


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_the_change_day_counts_as_used() -> None:
    end = date(2026, 1, 31)
    assert remaining_days(end, date(2026, 1, 1)) == 30
    assert remaining_days(end, end) == 0
    assert remaining_days(end, date(2026, 2, 3)) == 0  # the period is over


def test_cycle_price_is_seats_times_months() -> None:
    assert cycle_price(Decimal(6000), 10, "monthly") == Decimal(60000)
    assert cycle_price(Decimal(4800), 10, "annual") == Decimal(576000)


def test_jpy_monthly_downgrade_on_the_first_day() -> None:
    # Enterprise → Professional, 10 seats, January: (60000 − 42000) / 31 × 30 = 17419.35…
    result = quote(
        Decimal(60000), Decimal(42000), date(2026, 1, 1), date(2026, 1, 31), date(2026, 1, 1), "JPY"
    )
    assert result.remaining_days == 30
    assert result.refund == Decimal(17419)
    assert result.due == 0


def test_jpy_downgrade_on_the_last_day_refunds_nothing() -> None:
    day = date(2026, 1, 31)
    result = quote(Decimal(60000), Decimal(42000), date(2026, 1, 1), day, day, "JPY")
    assert (result.remaining_days, result.refund, result.due) == (0, 0, 0)


def test_jpy_annual_downgrade_to_free_in_a_leap_year() -> None:
    # Standard annual, 3 seats: 1680 × 3 × 12 = 60480 for 366 days; 100 days left.
    start, end = date(2028, 1, 1), date(2028, 12, 31)
    result = quote(Decimal(60480), Decimal(0), start, end, date(2028, 9, 22), "JPY")
    assert result.remaining_days == 100
    assert result.refund == Decimal(16524)  # 60480 / 366 × 100 = 16524.59…


def test_usd_downgrade_rounds_down_to_cents() -> None:
    # Professional monthly, 1 seat, $35.00 for 31 days → Standard $20.00; 10 days left.
    result = quote(
        Decimal("35.00"),
        Decimal("20.00"),
        date(2026, 3, 1),
        date(2026, 3, 31),
        date(2026, 3, 21),
        "USD",
    )
    assert result.refund == Decimal("4.83")  # 15 / 31 × 10 = 4.8387…
    assert result.refund.as_tuple().exponent == -2


def test_usd_upgrade_rounds_up_to_cents() -> None:
    result = quote(
        Decimal("20.00"),
        Decimal("35.00"),
        date(2026, 3, 1),
        date(2026, 3, 31),
        date(2026, 3, 21),
        "USD",
    )
    assert result.due == Decimal("4.84")
    assert result.refund == 0


def test_a_discounted_payment_refunds_from_what_was_actually_paid() -> None:
    # List price 60000, paid 45000 (25 % off): the refund follows the 45000.
    full = quote(
        Decimal(60000), Decimal(42000), date(2026, 4, 1), date(2026, 4, 30), date(2026, 4, 1), "JPY"
    )
    discounted = quote(
        Decimal(45000), Decimal(42000), date(2026, 4, 1), date(2026, 4, 30), date(2026, 4, 1), "JPY"
    )
    assert full.refund == Decimal(17400)
    assert discounted.refund == Decimal(2900)  # (45000 − 42000) / 30 × 29


def test_a_downgrade_below_the_discounted_price_keeps_what_was_paid() -> None:
    # Paid 30000 for Enterprise; Professional lists at 42000: no refund and no charge.
    result = quote_change(
        paid_value=Decimal(30000),
        new_value=Decimal(42000),
        days_in_period=30,
        remaining=29,
        currency="JPY",
        downgrade=True,
    )
    assert (result.refund, result.due) == (0, 0)
    # The customer keeps the lower value paid: a later downgrade to Free refunds at most
    # what was really paid.
    assert result.paid_value_after == Decimal(30000)
    to_free = quote_change(
        paid_value=result.paid_value_after,
        new_value=Decimal(0),
        days_in_period=30,
        remaining=28,
        currency="JPY",
        downgrade=True,
    )
    assert to_free.refund == Decimal(28000) <= Decimal(30000)


def test_after_a_normal_change_the_new_daily_value_applies() -> None:
    down = quote_change(
        paid_value=Decimal(60000),
        new_value=Decimal(42000),
        days_in_period=30,
        remaining=10,
        currency="JPY",
        downgrade=True,
    )
    assert (down.refund, down.paid_value_after, down.new_daily) == (6000, 42000, 1400)
    up = quote_change(
        paid_value=Decimal(42000),
        new_value=Decimal(60000),
        days_in_period=30,
        remaining=10,
        currency="JPY",
        downgrade=False,
    )
    assert (up.due, up.refund, up.paid_value_after) == (Decimal(6000), 0, Decimal(60000))


def test_quotes_are_exact_before_rounding() -> None:
    # 19200 paid for 31 days, all 31 unused: 19200 exactly, not 19199.99… truncated.
    result = quote_change(
        paid_value=Decimal(19200),
        new_value=Decimal(0),
        days_in_period=31,
        remaining=31,
        currency="JPY",
        downgrade=True,
    )
    assert result.refund == Decimal(19200)
    up = quote_change(
        paid_value=Decimal(0),
        new_value=Decimal(19200),
        days_in_period=31,
        remaining=31,
        currency="JPY",
        downgrade=False,
    )
    assert up.due == Decimal(19200)


def test_rounding_helpers() -> None:
    assert round_down(Decimal("10.999"), "USD") == Decimal("10.99")
    assert round_up(Decimal("10.001"), "USD") == Decimal("10.01")
    assert round_down(Decimal("10.9"), "JPY") == Decimal(10)
    assert round_up(Decimal("10.1"), "JPY") == Decimal(11)
    assert per_day(Decimal(10), 3) == Decimal("3.333333333333")
    assert round_down(Decimal("-0.5"), "JPY") == Decimal(-1)


def test_format_amount() -> None:
    assert format_amount(Decimal(122064), "JPY") == "JPY 122,064"
    assert format_amount(Decimal("140"), "USD") == "USD 140.00"


@pytest.mark.parametrize(
    ("anchor", "cycle", "starts"),
    [
        # Monthly on the 31st: the short months clamp, the next month comes back.
        (
            date(2027, 1, 31),
            "monthly",
            [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)],
        ),
        # Monthly on the 29th through a leap February.
        (
            date(2027, 12, 29),
            "monthly",
            [date(2027, 12, 29), date(2028, 1, 29), date(2028, 2, 29), date(2028, 3, 29)],
        ),
        # Annual on 29 February: the 28th in common years, the 29th again in a leap year.
        (
            date(2024, 2, 29),
            "annual",
            [
                date(2024, 2, 29),
                date(2025, 2, 28),
                date(2026, 2, 28),
                date(2027, 2, 28),
                date(2028, 2, 29),
            ],
        ),
    ],
)
def test_periods_keep_the_day_of_their_anchor(anchor: date, cycle: str, starts: list[date]) -> None:
    """docs/domain.md, Time: 31 Jan -> 28 Feb -> 31 Mar -> 30 Apr; nothing drifts."""
    found = [anchor]
    while len(found) < len(starts):
        found.append(period_end(found[-1], cycle, anchor) + timedelta(days=1))
    assert found == starts
    # Without the anchor the 31st would drift to the 28th after February.
    assert period_end(date(2027, 2, 28), "monthly") == date(2027, 3, 27)
