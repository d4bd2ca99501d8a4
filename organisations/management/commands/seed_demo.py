"""manage.py seed_demo: demo organisations, users in every role, a staff user, and (payments
in test mode) a test card on file for each paid organisation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_tenants.utils import tenant_context

from accounts.models import Department, User
from accounts.services import add_user, create_department, deactivate_user
from organisations.services import create_organisation, forget_every_organisation
from portal.models import Organisation
from portal.selectors import organisation_url, public_url
from subscriptions import local_provider, stripe_gateway
from subscriptions.services.payment_methods import attach_card, test_payment_method
from subscriptions.services.plan_changes import change_plan
from subscriptions.services.refunds import request_refund
from subscriptions.services.scheduled_changes import schedule_change

DEMO_PASSWORD = "demo-pass-2026"
STAFF_EMAIL = "staff@vendor.example"

# (slug, name, (plan, seats, cycle), [(email, full name, roles)], [departments],
# downgrade to make with a refund request, or None); plan "trial": a sign-up's trial. The
# first user is the primary contact. Roles: "super", "admin", "agent", "inactive" (a
# deactivated agent).
DEMO_ORGANISATIONS = [
    (
        "acme",
        "Acme Corporation",
        ("enterprise", 10, "monthly"),
        [
            ("ayako@acme.example", "Ayako Sato", "primary"),
            ("ken@acme.example", "Ken Suzuki", "super"),
            ("mika@acme.example", "Mika Takahashi", "admin"),
            ("taro@acme.example", "Taro Tanaka", "agent"),
            ("hanako@acme.example", "Hanako Ito", "agent"),
            ("jiro@acme.example", "Jiro Watanabe", "agent"),
            ("emi@acme.example", "Emi Yamamoto", "inactive"),
        ],
        ["Billing", "Technical support", "Sales"],
        None,
    ),
    (
        "globex",
        "Globex Japan",
        ("enterprise", 5, "annual"),
        [
            ("hiro@globex.example", "Hiro Nakamura", "primary"),
            ("yui@globex.example", "Yui Kobayashi", "admin"),
            ("sora@globex.example", "Sora Kato", "agent"),
        ],
        ["Customer care", "Returns"],
        "professional",
    ),
    (
        "initech",
        "Initech",
        ("standard", 2, "monthly"),
        [
            ("peter@initech.example", "Peter Gibbons", "primary"),
            ("joanna@initech.example", "Joanna Smith", "agent"),
        ],
        [],
        "free",
    ),
    (
        "hikari",
        "ひかり商事株式会社",
        ("trial", None, "monthly"),  # the trial a sign-up starts (SUBSCRIPTIONS_TRIAL_*)
        [
            ("hana@hikari.example", "佐藤 花子", "primary"),
            ("daiki@hikari.example", "鈴木 大輝", "agent"),
            ("mei@hikari.example", "高橋 芽衣", "agent"),
            ("yuto@hikari.example", "田中 悠斗", "agent"),
        ],
        ["お問い合わせ窓口"],
        None,
    ),
]

# The card the demo's paid organisations keep on file, where payments go to a provider in
# test mode (its renewals are paid with it; README.md, "Payments").
DEMO_CARD = "4242424242424242"


def _test_cards_taken() -> bool:
    """Whether payments go through Stripe's SDK in test mode, its provider answering (`make
    run` starts the local one first; without it the demo has no cards)."""
    if not stripe_gateway.test_payments():
        return False
    return not settings.STRIPE_API_BASE or local_provider.reachable(settings.STRIPE_API_BASE)


# Changes waiting for the end of the period: Globex goes down to 3 seats at its renewal.
DEMO_SCHEDULED = {"globex": ("professional", 3)}


class Command(BaseCommand):
    help = (
        "Create the demo organisations, users and a vendor staff user (idempotent). "
        "--reset first forgets every organisation and sign-up (development only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--summary",
            action="store_true",
            help="Only say where the demo is and who can sign in now (make run, once started).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Forget every organisation, its schema and its history first (DEBUG only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["summary"]:
            self._print_summary()
            return
        if options["reset"]:
            try:
                forgotten = forget_every_organisation()
            except ImproperlyConfigured as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"Forgot {forgotten} organisation(s); seeding the demo again.")
        cards = _test_cards_taken()
        for slug, name, (plan, seats, cycle), people, departments, downgrade in DEMO_ORGANISATIONS:
            organisation = Organisation.objects.filter(slug=slug).first()
            new = organisation is None
            if organisation is None:
                primary_email, primary_name, _ = people[0]
                organisation = create_organisation(
                    name=name,
                    slug=slug,
                    primary_contact_email=primary_email,
                    primary_contact_name=primary_name,
                    primary_contact_password=DEMO_PASSWORD,
                    plan_code="free" if plan == "trial" else plan,
                    seats=seats,
                    cycle=cycle,
                    trial=plan == "trial",
                ).organisation
            with tenant_context(organisation), transaction.atomic():
                self._seed_people(people[1:])
                for department in departments:
                    if not Department.objects.filter(name__iexact=department).exists():
                        create_department(name=department, acting_user=None)
                primary = User.objects.get(is_primary_contact=True)
            if new and plan not in ("free", "trial") and cards:
                attach_card(organisation, test_payment_method(DEMO_CARD), acting_user=None)
            if new and downgrade:
                # A downgrade mid-period whose refund the customer asked for: pending
                # requests for the vendor's staff to review.
                change = change_plan(organisation, downgrade, acting_user=primary)
                request_refund(change, acting_user=primary)
            if new and slug in DEMO_SCHEDULED:
                plan_code, seats_then = DEMO_SCHEDULED[slug]
                schedule_change(organisation, plan_code, seats=seats_then, acting_user=primary)
        self._seed_staff()
        self._print_summary()

    def _seed_people(self, people: list[tuple[str, str, str]]) -> None:
        for email, full_name, role in people:
            if User.objects.filter(email=email).exists():
                continue
            user = add_user(
                email=email,
                full_name=full_name,
                password=DEMO_PASSWORD,
                is_super_admin=role == "super",
                is_administrator=role == "admin",
                acting_user=None,
            )
            if role == "inactive":
                deactivate_user(user, acting_user=None)

    def _seed_staff(self) -> None:
        if not User.objects.filter(email=STAFF_EMAIL).exists():
            User.objects.create_superuser(STAFF_EMAIL, DEMO_PASSWORD, full_name="Vendor Staff")

    def _print_summary(self) -> None:
        """Where the demo is and who can sign in to it now (its active users, as the
        database has them: someone deactivated since is not listed)."""
        self.stdout.write(
            self.style.SUCCESS("The demo is ready. Every demo password: " + DEMO_PASSWORD)
        )
        self.stdout.write(
            f"  Public site and sign-up: {public_url('/')}  ({public_url('/signup/')})"
        )
        self.stdout.write(f"  Vendor staff admin: {public_url('/admin/')}  ({STAFF_EMAIL})")
        slugs = [slug for slug, *_rest in DEMO_ORGANISATIONS]
        for organisation in Organisation.objects.filter(slug__in=slugs).select_related(
            "subscription__plan"
        ):
            plan, login = organisation.subscription.plan.code, "/accounts/login/"
            self.stdout.write(
                f"  {organisation.name} ({plan}): {organisation_url(organisation, login)}"
            )
            with tenant_context(organisation):
                for user in User.objects.filter(is_active=True).order_by(
                    "-is_primary_contact", "-is_super_admin", "-is_administrator", "email"
                ):
                    self.stdout.write(f"      {_role(user):<8} {user.email}")


def _role(user: User) -> str:
    if user.is_primary_contact:
        return "primary"
    if user.is_super_admin:
        return "super"
    return "admin" if user.is_administrator else "agent"
