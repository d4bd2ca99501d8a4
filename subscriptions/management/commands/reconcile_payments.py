"""manage.py reconcile_payments [--org SLUG]

The ledger against the payment provider (``selectors.reconciliation``): exits 0 when every
payment matches, else 1, listing every difference."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from portal.management.rows import organisation_by_slug
from portal.refusals import DomainCommand
from subscriptions import stripe_gateway
from subscriptions.selectors.reconciliation import reconcile_payments


class Command(DomainCommand):
    help = "Compare the ledger's payments with the payment provider's; exit 1 on a difference."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", help="Only this organisation.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not stripe_gateway.in_use():
            raise CommandError(
                "Payments are not taken through a provider here: nothing to compare."
            )
        organisation = organisation_by_slug(options["org"]) if options["org"] else None
        found = reconcile_payments(organisation)
        for difference in found.differences:
            self.stdout.write(
                f"{difference.organisation}: {difference.reference}: {difference.what}"
            )
        if found.differences:
            raise CommandError(
                f"{len(found.differences)} difference(s); {found.matched} payment(s) match."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Clean: {found.matched} payment(s) match the provider.")
        )
