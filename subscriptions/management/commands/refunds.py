"""manage.py refunds list [--status S] | approve ID [--note N] | reject ID --note N |
pay ID [--note N] | mark-refunded ID --reference R"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from portal.management.rows import render_rows
from portal.refusals import DomainCommand
from subscriptions.models import RefundRequest, RefundStatus
from subscriptions.money import in_currency
from subscriptions.services import refunds

COLUMNS = [
    "id",
    "organisation",
    "amount",
    "tax",
    "total",
    "currency",
    "status",
    "requested_by",
    "requested_at",
    "change",
]


HELP = {
    "approve": "Approve a pending request.",
    "reject": "Reject a pending request (a note is required).",
    "pay": "Pay an approved refund through the payment provider.",
    "mark_refunded": "Record an approved refund paid outside the provider (bank transfer).",
}
OPTIONS = {
    "note": ("--note", "A note, sent to the customer."),
    "payment_reference": ("--reference", "The payment's reference."),
}


class Command(DomainCommand):
    help = "List refund requests and decide them (as an operator)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help="List refund requests, newest first.")
        listing.add_argument("--status", choices=RefundStatus.values)
        listing.add_argument("--format", choices=["table", "csv", "json"], default="table")
        for move in refunds.STAFF_DECISIONS.values():
            decision = actions.add_parser(move.decision.replace("_", "-"), help=HELP[move.decision])
            decision.add_argument("id", type=int)
            for field in move.takes:  # the table says what each decision takes and requires
                flag, text = OPTIONS[field]
                decision.add_argument(flag, dest=field, required=field == move.requires, help=text)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(options["status"], options["format"])
            return
        refund = RefundRequest.objects.filter(pk=options["id"]).first()
        if refund is None:
            raise CommandError(f"There is no refund request {options['id']}.")
        refund = refunds.decide_refund(
            refund,
            options["action"].replace("-", "_"),  # mark-refunded: the table's mark_refunded
            acting_user=None,
            note=options.get("note") or "",
            payment_reference=options.get("payment_reference") or "",
        )
        self.stdout.write(self.style.SUCCESS(f"Refund request {refund.pk} is now {refund.status}."))

    def _list(self, status: str | None, output_format: str) -> None:
        refunds = RefundRequest.objects.select_related(
            "organisation", "plan_change__from_plan", "plan_change__to_plan"
        )
        if status:
            refunds = refunds.filter(status=status)
        rows = [
            {
                "id": refund.pk,
                "organisation": refund.organisation.slug,
                "amount": in_currency(refund.amount, refund.currency),
                "tax": in_currency(refund.tax, refund.currency),
                "total": in_currency(refund.total, refund.currency),
                "currency": refund.currency,
                "status": refund.status,
                "requested_by": refund.requested_by_email,
                "requested_at": refund.requested_at.isoformat(timespec="seconds"),
                "change": f"{refund.plan_change.from_plan.code}→{refund.plan_change.to_plan.code}",
            }
            for refund in refunds
        ]
        if rows or output_format != "table":
            self.stdout.write(render_rows(rows, COLUMNS, output_format))
        else:
            self.stdout.write("No refund requests.")
