"""manage.py clock show [--org SLUG] | clock advance (--org SLUG | --all) --to YYYY-MM-DD

Test clocks (portal/clock.py), for demos and staging: an organisation's today moved
forward, then the billing that day brings (renewals, scheduled changes, reminders)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from portal import clock
from portal.management.days import day
from portal.management.rows import organisation_by_slug
from portal.models import Organisation
from portal.refusals import DomainCommand
from subscriptions.management.commands._shared import write_billing_run
from subscriptions.services.clocks import advance_clock


class Command(DomainCommand):
    help = (
        "Test clocks for demos and staging (PORTAL_TEST_CLOCKS): show each organisation's "
        "today, or move one organisation's (--org) or every one's (--all) forward to a day, "
        "then run the billing that day brings. A clock never goes back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        show = actions.add_parser("show", help="Each organisation's today (or one's, --org).")
        show.add_argument("--org", metavar="SLUG")
        advance = actions.add_parser("advance", help="Move a clock forward to --to.")
        which = advance.add_mutually_exclusive_group(required=True)
        which.add_argument("--org", metavar="SLUG")
        which.add_argument("--all", action="store_true", help="Every organisation.")
        advance.add_argument("--to", type=day, required=True, metavar="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "show":
            self._show(options.get("org"))
            return
        organisation = organisation_by_slug(options["org"]) if options.get("org") else None
        report = advance_clock(organisation, options["to"])
        who = organisation.slug if organisation is not None else "every organisation"
        self.stdout.write(f"{who}: today is {options['to'].isoformat()} (test clock).")
        write_billing_run(self, report)

    def _show(self, slug: str | None) -> None:
        organisations = (
            [organisation_by_slug(slug)] if slug else Organisation.objects.order_by("slug")
        )
        state = "on" if clock.test_clocks_on() else "off (every organisation is on the real date)"
        self.stdout.write(f"Test clocks: {state}. Real date: {clock.today().isoformat()}.")
        for organisation in organisations:
            mark = " (test clock)" if clock.on_test_clock(organisation) else ""
            self.stdout.write(f"{organisation.slug}: {clock.today(organisation).isoformat()}{mark}")
