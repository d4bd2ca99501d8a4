"""manage.py run_billing [--today YYYY-MM-DD]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.management.days import day_not_after_today
from subscriptions.services.subscription import run_billing


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
        report = run_billing(options["today"])
        for slug, periods in report.renewed:
            self.stdout.write(f"{slug}: renewed ({periods} period{'s' if periods > 1 else ''})")
        for slug in report.applied:
            self.stdout.write(f"{slug}: scheduled change applied")
        for slug, reason in report.not_applied:
            self.stdout.write(f"{slug}: scheduled change not applied: {reason}")
        for slug in report.reminded:
            self.stdout.write(f"{slug}: reminded of its scheduled change")
        for slug in report.renewals_announced:
            self.stdout.write(f"{slug}: told of its annual renewal")
        for slug, reason in report.failed:
            self.stderr.write(f"{slug}: failed: {reason}")
        self.stdout.write(
            f"{report.today}: {len(report.renewed)} renewed, {len(report.applied)} scheduled "
            f"changes applied, {len(report.reminded)} reminded, {len(report.failed)} failed."
        )
        if report.failed:
            raise CommandError(f"{len(report.failed)} organisation(s) failed.")
