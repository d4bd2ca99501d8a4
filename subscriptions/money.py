"""Money: ``Decimal`` amounts in an ISO currency, never floats.

Refunds are rounded down and charges up to the currency's minor unit, so the vendor never
refunds more than was paid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.db import models


class Currency(models.TextChoices):
    """The currencies the catalogue prices in (the models' choices); ``CURRENCIES`` says
    what the portal knows of each."""

    JPY = "JPY", "JPY"
    USD = "USD", "USD"


@dataclass(frozen=True)
class CurrencyFacts:
    """What the portal knows of a currency it bills in."""

    code: str
    minor_units: int  # decimals of its smallest unit: JPY 0, USD 2
    symbol: str
    # The consumption tax on invoices in it: Japan's 10% on JPY invoices; USD invoices go
    # to customers abroad, untaxed.
    tax_rate: Decimal
    # Its invoices are qualified invoices (適格請求書) when the seller is registered.
    qualified_invoices: bool


# The one table of currencies' facts: rounding, the tax, the symbol shown and the invoices'
# kind all read it.
CURRENCIES = {
    facts.code: facts
    for facts in (
        CurrencyFacts(Currency.JPY, minor_units=0, symbol="¥", tax_rate=Decimal("0.10"),
                      qualified_invoices=True),
        CurrencyFacts(Currency.USD, minor_units=2, symbol="$", tax_rate=Decimal(0),
                      qualified_invoices=False),
    )
}  # fmt: skip
assert set(CURRENCIES) == set(Currency.values), "every currency has its facts"
MINOR_UNITS = {code: facts.minor_units for code, facts in CURRENCIES.items()}


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
