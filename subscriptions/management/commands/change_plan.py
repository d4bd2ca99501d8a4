"""manage.py change_plan ORG PLAN [--cycle C] [--seats N] [--keep-agent EMAIL ...] [--dry-run]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from accounts.models import User
from portal.exceptions import DomainError
from subscriptions.management.commands._shared import organisation_by_slug
from subscriptions.money import format_amount
from subscriptions.selectors.previews import PlanChangePreview, preview_plan_change
from subscriptions.services.plan_changes import change_plan


class Command(BaseCommand):
    help = "Change an organisation's plan now (as an operator). --dry-run prints the impact only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", metavar="ORG", help="The organisation's slug.")
        parser.add_argument(
            "plan", metavar="PLAN", help="free, standard, professional or enterprise."
        )
        parser.add_argument("--cycle", choices=["monthly", "annual"])
        parser.add_argument("--seats", type=int)
        parser.add_argument(
            "--keep-agent",
            action="append",
            default=[],
            metavar="EMAIL",
            help="A user to keep active when active users exceed the new plan's seats (repeat).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the impact, change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = organisation_by_slug(options["organisation"])
        try:
            preview = preview_plan_change(
                organisation, options["plan"], cycle=options["cycle"], seats=options["seats"]
            )
            self.stdout.write(describe(preview))
            if options["dry_run"]:
                return
            if preview.refusal is not None:
                raise preview.refusal
            change = change_plan(
                organisation,
                options["plan"],
                acting_user=None,
                cycle=options["cycle"],
                seats=options["seats"],
                keep_user_ids=self._keep_ids(organisation, options["keep_agent"]),
            )
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{organisation.slug} is now on {change.to_plan.code} "
                f"({change.to_cycle}, {change.seats_after} seats)."
            )
        )

    def _keep_ids(self, organisation: Any, emails: list[str]) -> list[int]:
        wanted = {email.strip().lower() for email in emails}
        with tenant_context(organisation):
            found = dict(User.objects.filter(email__in=wanted).values_list("email", "pk"))
        unknown = sorted(wanted - found.keys())
        if unknown:
            raise CommandError(
                f"No user with the email {', '.join(unknown)} in {organisation.slug}."
            )
        return list(found.values())


def describe(preview: PlanChangePreview) -> str:
    """The preview in plain words, for operators."""
    lines = [
        f"{preview.organisation.slug}: {preview.from_plan.code} ({preview.from_cycle}) → "
        f"{preview.to_plan.code} ({preview.to_cycle}), {preview.kind}",
        "allowed" if preview.allowed else f"refused: {preview.refusal}",
    ]
    if preview.features_lost:
        lines.append("features lost: " + ", ".join(f.code for f in preview.features_lost))
    if preview.features_gained:
        lines.append("features gained: " + ", ".join(f.code for f in preview.features_gained))
    for impact in preview.limits_exceeded:
        lines.append(
            f"{impact.feature.code}: {impact.in_use} in use, limit {impact.limit}: "
            f"{impact.hidden} hidden (not deleted)"
        )
    lines.append(
        f"seats: {preview.seats_before} → {preview.seats_after}, "
        f"{preview.seats_in_use} active users"
    )
    if preview.seats_over:
        lines.append(
            f"{preview.seats_over} active users must be deactivated (not deleted): "
            "choose with --keep-agent"
        )
    quote = preview.quote
    lines.append(
        f"remaining days: {quote.remaining_days}; "
        f"refund quote: {format_amount(quote.refund, preview.currency)}; "
        f"amount due: {format_amount(quote.due, preview.currency)}"
    )
    return "\n".join(lines)
