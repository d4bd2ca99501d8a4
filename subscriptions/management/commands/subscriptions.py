"""manage.py subscriptions [--plan PLAN] [--format table|csv|json]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from portal.management.rows import render_rows
from portal.refusals import DomainCommand
from subscriptions.selectors.backoffice import subscriptions_overview
from subscriptions.selectors.catalogue import get_plan

COLUMNS = ["organisation", "plan", "cycle", "seats_used", "seats_licensed", "period_end"]
# JSON gets every field: the period, its anchor, any scheduled change, the card on file and
# the status ("active", or "past_due" since a renewal's payment was refused).
ALL_COLUMNS = [
    *COLUMNS,
    "name",
    "currency",
    "period_start",
    "anchor_day",
    "anchor_month",
    "scheduled_change",
    "payment_method",
    "status",
    "past_due_since",
]


class Command(DomainCommand):
    help = "One line per organisation: plan, cycle, seats used/licensed, period end."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--plan", help="Only organisations on this plan.")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        plan_code = get_plan(options["plan"]).code if options["plan"] else None
        rows = subscriptions_overview(plan_code)
        if rows or options["format"] != "table":
            columns = ALL_COLUMNS if options["format"] == "json" else COLUMNS
            self.stdout.write(render_rows(rows, columns, options["format"]))
        else:
            self.stdout.write("No organisations.")
