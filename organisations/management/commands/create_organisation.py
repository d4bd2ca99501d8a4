"""manage.py create_organisation --name NAME --slug SLUG --primary-contact EMAIL
[--plan P] [--seats N] [--cycle C] [--currency C] [--period-start YYYY-MM-DD]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from organisations.services import create_organisation
from portal.management.days import day_within
from portal.refusals import DomainCommand
from portal.selectors import organisation_url
from subscriptions.money import CURRENCIES

# A customer imported with its current period: the period may have begun a while ago (its
# renewals since are booked by the next billing run) or begin later, within these bounds.
PERIOD_START = day_within(days_before=5 * 366, days_after=366)


class Command(DomainCommand):
    help = (
        "Create an organisation: its schema, its site <slug>.PORTAL_BASE_DOMAIN, a first "
        "department and its primary contact, who gets a link to choose a password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The organisation's display name.")
        parser.add_argument(
            "--slug", required=True, help="Subdomain: lowercase letters, digits, hyphens."
        )
        parser.add_argument("--primary-contact", required=True, metavar="EMAIL")
        parser.add_argument("--primary-contact-name", default="", metavar="NAME")
        parser.add_argument(
            "--plan", default="free", help="free (default), standard, professional, enterprise."
        )
        parser.add_argument(
            "--seats", type=int, help="Licensed agent seats (default: 1, or Free's 3)."
        )
        parser.add_argument("--cycle", choices=["monthly", "annual"], default="monthly")
        parser.add_argument("--currency", choices=list(CURRENCIES), default="JPY")
        parser.add_argument(
            "--period-start",
            type=PERIOD_START,
            metavar="YYYY-MM-DD",
            help="The first day of the current period, past (up to five years) or future (up "
            "to a year) (default: today): imports an existing customer. Its day (and month, "
            "annual) is the billing anchor.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        created = create_organisation(
            name=options["name"],
            slug=options["slug"],
            primary_contact_email=options["primary_contact"],
            primary_contact_name=options["primary_contact_name"],
            plan_code=options["plan"],
            seats=options["seats"],
            cycle=options["cycle"],
            currency=options["currency"],
            period_start=options["period_start"],
        )
        organisation = created.organisation
        self.stdout.write(self.style.SUCCESS(f"Created {organisation.name} ({organisation.slug})."))
        self.stdout.write(f"Site:          {organisation_url(organisation)}")
        subscription = organisation.subscription
        self.stdout.write(
            f"Plan:          {options['plan']} ({options['cycle']}), period "
            f"{subscription.period_start.isoformat()} – {subscription.period_end.isoformat()}"
        )
        self.stdout.write(f"Primary contact: {created.primary_contact.email}")
        self.stdout.write(f"Set-password link (single use): {created.set_password_url}")
