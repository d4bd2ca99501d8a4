"""manage.py invoices --org SLUG [--format table|json]"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.management.rows import organisation_by_slug, render_rows
from subscriptions.models import Invoice
from subscriptions.money import in_currency
from subscriptions.selectors.invoices import invoices_of

COLUMNS = ["number", "kind", "status", "date", "currency", "subtotal", "tax", "total"]


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    """An invoice or a return invoice as the JSON format has it: amounts as decimal strings
    in the currency's precision (a return invoice's positive: what went back), lines
    tax-exclusive as the ledger has them (money going back negative); a return invoice
    names the invoices it corrects. ``status``: open, paid or void (``Invoice.status``)."""

    def amount(value: Decimal) -> str:
        return str(in_currency(value, invoice.currency))

    document: dict[str, Any] = {
        "number": invoice.number,
        "kind": invoice.kind,
        "status": invoice.status,
        "date": invoice.issued_on.isoformat(),
        "currency": invoice.currency,
        "buyer": invoice.buyer_name,
        "seller": invoice.seller_name,
        "subtotal": amount(invoice.subtotal),
        "tax_rate": str(invoice.tax_rate),
        "tax": amount(invoice.tax),
        "total": amount(invoice.total),
        "registration_number": invoice.registration_number or None,
        "lines": [
            {
                "kind": line.kind,
                "amount": amount(line.signed_amount),
                "plan": line.plan.code if line.plan else None,
                "seats": line.seats,
                "cycle": line.cycle or None,
                "period_start": line.period_start.isoformat() if line.period_start else None,
                "period_end": line.period_end.isoformat() if line.period_end else None,
            }
            for line in invoice.lines.all()
        ],
    }
    if invoice.is_return:
        document["corrects"] = [original["number"] for original in invoice.corrects]
    return document


class Command(BaseCommand):
    help = "An organisation's invoices, newest first, with their lines and tax."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organisation (e.g. acme).")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = organisation_by_slug(options["org"], deleted_too=True)
        found = [invoice_json(invoice) for invoice in invoices_of(organisation)]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"invoices": found}, ensure_ascii=False, indent=2))
        elif found:
            self.stdout.write(render_rows(found, COLUMNS, "table"))
        else:
            self.stdout.write(f"{organisation.slug} has no invoices.")
