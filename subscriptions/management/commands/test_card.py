"""manage.py test_card --org SLUG --number NUMBER [--expires MM/YYYY]

In test mode only (a local provider, or Stripe's test keys; refused otherwise): give an
organisation a test card as its card on file, so that operators and tests can script a
payment that succeeds, is declined or asks for 3-D Secure (README.md, "Payments")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from portal.management.rows import organisation_by_slug
from portal.refusals import DomainCommand
from subscriptions.services.payment_methods import attach_card, test_payment_method
from subscriptions.stripe_gateway import test_mode


class Command(DomainCommand):
    help = "Give an organisation a test card (test mode only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, metavar="SLUG")
        parser.add_argument("--number", required=True, help="A test card number.")
        parser.add_argument("--expires", default="12/2034", metavar="MM/YYYY")

    def handle(self, *args: Any, **options: Any) -> None:
        if not test_mode():
            raise CommandError(
                "test_card works in test mode only: a local provider (STRIPE_API_BASE) or "
                "Stripe's test keys (sk_test_…). These settings take real money."
            )
        organisation = organisation_by_slug(options["org"])
        number = "".join(options["number"].split())
        try:
            method = test_payment_method(number, options["expires"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        account = attach_card(organisation, method, acting_user=None)
        self.stdout.write(
            self.style.SUCCESS(
                f"{organisation.slug}: {account.brand} •••• {account.last4}, "
                f"expires {account.exp_month:02d}/{account.exp_year}."
            )
        )
