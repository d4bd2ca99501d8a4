"""manage.py audit [--org ORG] [--since YYYY-MM-DD] [--format csv|jsonl]"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import AUDIT_COLUMNS, audit_row
from portal.management.rows import organisation_by_slug, render_rows


class Command(BaseCommand):
    help = "Export audit events, oldest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="ORG", help="Only this organisation (slug).")
        parser.add_argument(
            "--since", metavar="YYYY-MM-DD", help="Only events on or after this day."
        )
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        events = AuditEvent.objects.select_related("organisation").order_by("created_at", "id")
        if options["org"]:
            organisation = organisation_by_slug(options["org"], deleted_too=True)
            events = events.filter(organisation=organisation)
        if options["since"]:
            try:
                day = datetime.date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(
                    f"--since takes a date as YYYY-MM-DD, not “{options['since']}”."
                ) from None
            start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
            events = events.filter(created_at__gte=start)
        rows = [audit_row(event) for event in events.iterator(chunk_size=2000)]
        self.stdout.write(render_rows(rows, AUDIT_COLUMNS, options["format"]))
