"""manage.py ledger [--org SLUG] [--format table|csv|json]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.management.rows import organisation_by_slug, render_rows
from subscriptions.models import LedgerLine
from subscriptions.money import in_currency
from subscriptions.selectors.ledger import Account, accounts

COLUMNS = ["organisation", "currency", "date", "kind", "amount", "invoice", "period_start"]


def account_json(account: Account) -> dict[str, Any]:
    """One organisation's ledger as the JSON format has it: amounts as decimal strings in
    the currency's precision, tax-exclusive but ``received`` (the payments received, tax
    included, also lines of kind "payment")."""

    def amount(value: Any) -> str:
        return str(in_currency(value, account.currency))

    return {
        "organisation": account.organisation,
        "currency": account.currency,
        "charges": amount(account.charges),
        "refunds_paid": amount(account.refunds_paid),
        "balance": amount(account.balance),
        "received": amount(account.received),
        "lines": [
            {
                "date": line.booked_on.isoformat(),
                "kind": line.kind,
                "amount": amount(line.amount),
                "invoice": line.document.number if line.document else None,
                "period_start": line.period_start.isoformat() if line.period_start else None,
                "period_end": line.period_end.isoformat() if line.period_end else None,
                # A refund paid: the end of the period it is of (its change's, unless the
                # change began a new cycle: then a period that has ended, None).
                "refund_period_end": _refund_period_end(line),
            }
            for line in account.lines
        ],
    }


def _refund_period_end(line: LedgerLine) -> str | None:
    refund = line.refund_request
    if refund is None or refund.plan_change.from_cycle != refund.plan_change.to_cycle:
        return None
    return refund.plan_change.period_end.isoformat()


class Command(BaseCommand):
    help = "Each organisation's ledger: its lines, charges, refunds paid and balance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organisation (its address, e.g. acme).")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = (
            organisation_by_slug(options["org"], deleted_too=True) if options["org"] else None
        )
        found = [account_json(account) for account in accounts(organisation)]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"organisations": found}, ensure_ascii=False, indent=2))
            return
        rows = [
            {"organisation": account["organisation"], "currency": account["currency"], **line}
            for account in found
            for line in account["lines"]
        ]
        if options["format"] == "csv":
            self.stdout.write(render_rows(rows, COLUMNS, "csv"))
            return
        if not found:
            self.stdout.write("No ledger lines.")
            return
        self.stdout.write(render_rows(rows, COLUMNS, "table"))
        for account in found:
            self.stdout.write(
                f"{account['organisation']} ({account['currency']}): charges "
                f"{account['charges']}, refunds paid {account['refunds_paid']}, "
                f"balance {account['balance']}; received {account['received']} (tax included)"
            )
