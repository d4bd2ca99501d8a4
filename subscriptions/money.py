"""Money: ``Decimal`` amounts in an ISO currency, never floats.

Refunds are rounded down and charges up to the currency's minor unit, so the vendor never
refunds more than was paid.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

MINOR_UNITS = {"JPY": 0, "USD": 2}
# Per-day values keep this many decimal places (stored in DecimalField(decimal_places=12)).
DAILY_PLACES = Decimal("0.000000000001")


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency: 1 for JPY, 0.01 for USD."""
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


def round_down(amount: Decimal, currency: str) -> Decimal:
    """For refunds: never more than the exact value."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_FLOOR)


def round_up(amount: Decimal, currency: str) -> Decimal:
    """For charges: never less than the exact value."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_CEILING)


def per_day(amount: Decimal, days: int) -> Decimal:
    """``amount / days``, truncated (never above the exact value) to DAILY_PLACES."""
    return (amount / Decimal(days)).quantize(DAILY_PLACES, rounding=ROUND_FLOOR)


def format_amount(amount: Decimal, currency: str) -> str:
    """``JPY 12,000`` / ``USD 140.00``: plain text for commands, emails and logs."""
    places = MINOR_UNITS[currency]
    return f"{currency} {amount:,.{places}f}"
