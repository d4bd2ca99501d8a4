"""Money: ``Decimal`` amounts in an ISO currency, never floats.

Refunds are rounded down and charges up to the currency's minor unit, so the vendor never
refunds more than was paid.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

MINOR_UNITS = {"JPY": 0, "USD": 2}


def round_down(amount: Decimal | Fraction, currency: str) -> Decimal:
    """For refunds: never more than the exact value."""
    scale = 10 ** MINOR_UNITS[currency]
    return Decimal(math.floor(Fraction(amount) * scale)) / scale


def round_up(amount: Decimal | Fraction, currency: str) -> Decimal:
    """For charges: never less than the exact value."""
    scale = 10 ** MINOR_UNITS[currency]
    return Decimal(math.ceil(Fraction(amount) * scale)) / scale


def per_day(amount: Decimal | Fraction, days: int) -> Decimal:
    """``amount / days`` for display, truncated to 12 decimal places. Money is never
    computed from this truncated value: quotes use exact fractions."""
    return Decimal(math.floor(Fraction(amount) / days * 10**12)) / 10**12


def in_currency(amount: Decimal, currency: str) -> Decimal:
    """The amount with the currency's number of decimals (JPY 4640, USD 4.50)."""
    return amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))


def format_amount(amount: Decimal, currency: str) -> str:
    """``JPY 12,000`` / ``USD 140.00`` / ``−JPY 32,516``: plain text for commands, emails
    and logs (money going back with the minus sign before the currency)."""
    places = MINOR_UNITS[currency]
    sign = "\u2212" if amount < 0 else ""
    return f"{sign}{currency} {abs(amount):,.{places}f}"
