"""Invoice arithmetic (docs/domain.md, Ledger and invoices). Pure functions of amounts: the tax
of an invoice is computed once on its subtotal (qualified invoices, 適格請求書: one tax
amount per rate and invoice), rounded down to the currency's minor unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from subscriptions.money import CURRENCIES, round_down

TAX_RATES = {code: facts.tax_rate for code, facts in CURRENCIES.items()}

# The PostgreSQL sequences numbers are drawn from: a number is never given twice, even by
# a transaction that rolled back (which leaves a gap instead). Return invoices have their
# own series.
NUMBER_SEQUENCE = "subscriptions_invoice_number_seq"
RETURN_NUMBER_SEQUENCE = "subscriptions_return_invoice_number_seq"


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


def totals(amounts: Iterable[Decimal], currency: str) -> Totals:
    """The invoice's sums: tax-exclusive amounts (a credit negative), the rate for the
    currency, the tax on the subtotal rounded down once, and the total."""
    subtotal = sum(amounts, Decimal(0))
    rate = TAX_RATES[currency]
    tax = round_down(subtotal * rate, currency)
    return Totals(subtotal=subtotal, tax_rate=rate, tax=tax, total=subtotal + tax)


def invoice_number(issued_on: date, sequence_value: int) -> str:
    """``INV-2026-000042``: the year of issue and the sequence's value."""
    return f"INV-{issued_on:%Y}-{sequence_value:06d}"


def return_invoice_number(issued_on: date, sequence_value: int) -> str:
    """``RET-2026-000007``: a return invoice's number (its own series)."""
    return f"RET-{issued_on:%Y}-{sequence_value:06d}"


def tax_on_return(amount: Decimal, *, invoiced: Totals, currency: str) -> Decimal:
    """The consumption tax that goes back with ``amount`` (tax-exclusive) returned from a
    period whose invoices add up to ``invoiced``: the same share of their tax as ``amount``
    is of their subtotal, rounded down. Returns that add up to at most what was invoiced
    give back at most the tax invoiced (rounding down never adds up to more)."""
    if invoiced.subtotal <= 0 or amount <= 0:
        return Decimal(0)
    share = Fraction(min(amount, invoiced.subtotal)) / Fraction(invoiced.subtotal)
    return round_down(Fraction(invoiced.tax) * share, currency)
