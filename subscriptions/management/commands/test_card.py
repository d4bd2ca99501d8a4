"""manage.py test_card --org SLUG --number NUMBER [--expires MM/YYYY]

In test mode only (a local provider, or Stripe's test keys; refused otherwise): give an
organisation a test card as its card on file, so that operators and tests can script a
payment that succeeds, is declined or asks for 3-D Secure (README.md, "Payments")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from portal.management.rows import organisation_by_slug
from portal.refusals import DomainCommand
from subscriptions.services.payment_methods import attach_card
from subscriptions.stripe_gateway import client, test_mode

# Stripe's own test mode takes its test cards as these payment methods (raw numbers need
# an account enabled for them); the local provider takes the numbers.
STRIPE_TEST_METHODS = {
    "4242424242424242": "pm_card_visa",
    "4000000000000341": "pm_card_chargeCustomerFail",
    "4000002500003155": "pm_card_authenticationRequired",
    "4000000000000002": "pm_card_visa_chargeDeclined",
}


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
        account = attach_card(
            organisation, self._payment_method(number, options["expires"]), acting_user=None
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{organisation.slug}: {account.brand} •••• {account.last4}, "
                f"expires {account.exp_month:02d}/{account.exp_year}."
            )
        )

    def _payment_method(self, number: str, expires: str) -> str:
        if not settings.STRIPE_API_BASE:
            if number not in STRIPE_TEST_METHODS:
                raise CommandError(
                    f"With Stripe's test keys, the test cards are {', '.join(STRIPE_TEST_METHODS)}."
                )
            return STRIPE_TEST_METHODS[number]
        month, _, year = expires.partition("/")
        if not (number.isdigit() and month.isdigit() and year.isdigit()):
            raise CommandError("Give --number as digits and --expires as MM/YYYY.")
        method = client().v1.payment_methods.create(
            params={
                "type": "card",
                "card": {
                    "number": number,
                    "exp_month": int(month),
                    "exp_year": int(year),
                    "cvc": "123",
                },
            }
        )
        return method.id
