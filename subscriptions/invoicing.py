"""Invoice arithmetic (docs/domain.md, Ledger and invoices). Pure functions of amounts: the tax
of an invoice is computed once on its subtotal (qualified invoices, 適格請求書: one tax
amount per rate and invoice), rounded down to the currency's minor unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from subscriptions.money import round_down

# Japan's consumption tax on JPY invoices; USD invoices go to customers abroad, untaxed.
TAX_RATES = {"JPY": Decimal("0.10"), "USD": Decimal(0)}

# The PostgreSQL sequence numbers are drawn from: a number is never given twice, even by
# a transaction that rolled back (which leaves a gap instead).
NUMBER_SEQUENCE = "subscriptions_invoice_number_seq"


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
