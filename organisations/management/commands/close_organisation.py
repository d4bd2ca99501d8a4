"""manage.py close_organisation SLUG [--now | --cancel]: close an organisation at the end of
its paid period (or now, moving a paid plan to Free first), or cancel its closure, as an
operator: audited, and idempotent (a closure already made or scheduled is said, not
repeated)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from portal.management.rows import organisation_by_slug
from portal.refusals import DomainCommand
from subscriptions.money import format_amount
from subscriptions.selectors.entitlements import subscription_of
from subscriptions.services import closing, closures


class Command(DomainCommand):
    help = (
        "Close an organisation at the end of its paid period, or now (--now: a paid plan "
        "moves to Free first, its refund quote recorded), or cancel its closure (--cancel)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", metavar="SLUG", help="The organisation's slug.")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--now", action="store_true", help="Close it today.")
        when.add_argument("--cancel", action="store_true", help="Cancel its closure.")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = organisation_by_slug(options["organisation"])
        if organisation.closed_on is not None:
            self.stdout.write(f"{organisation.slug}: closed on {organisation.closed_on}.")
            return
        if options["cancel"]:
            closures.cancel_closure(organisation, acting_user=None)
            self.stdout.write(f"{organisation.slug}: the closure is cancelled.")
            return
        if options["now"]:
            closed = closing.close_now(organisation, acting_user=None)
            change = closed.change
            if change is not None and change.refund_quote:
                quote = format_amount(change.refund_total, change.currency)
                self.stdout.write(f"{organisation.slug}: moved to Free, refund quote {quote}.")
            self.stdout.write(f"{organisation.slug}: closed today.")
            return
        closes_on = subscription_of(organisation).closes_on
        if closes_on is None:
            closes_on = closures.schedule_closure(organisation, acting_user=None)
        self.stdout.write(f"{organisation.slug}: closes on {closes_on}, at the end of its period.")
