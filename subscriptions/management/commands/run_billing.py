"""manage.py run_billing [--today YYYY-MM-DD]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.management.days import day_not_after_today
from subscriptions.management.commands._shared import write_billing_run
from subscriptions.services.billing import run_billing


class Command(BaseCommand):
    help = (
        "Renew every subscription whose period ended before the day (default: each "
        "organisation's today: the real date, or its test clock's), applying the changes "
        "scheduled for then, and send the reminders due; a second run for the same day "
        "changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            type=day_not_after_today,
            metavar="YYYY-MM-DD",
            help="The day to bill every organisation as of: today or earlier (a catch-up).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        write_billing_run(self, run_billing(options["today"]))
