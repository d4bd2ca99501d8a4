"""manage.py change_plan ORG PLAN [--cycle C] [--seats N] [--keep-agent EMAIL ...]
[--at-period-end] [--dry-run] [--promise P], and manage.py change_plan ORG --cancel-scheduled

The change made is the one printed: its figures are bound to it (the preview's promise),
and a change whose figures moved meanwhile is refused. ``--dry-run`` prints the promise;
``--promise`` binds the change to the figures of that earlier dry run."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import tenant_context

from accounts.models import User
from portal.management.rows import organisation_by_slug
from portal.models import Organisation
from portal.refusals import DomainCommand
from subscriptions.models import ScheduledChange
from subscriptions.money import format_amount
from subscriptions.selectors.previews import PlanChangePreview, preview_plan_change
from subscriptions.selectors.scheduled_changes import cancelled_by, scheduled_change_of
from subscriptions.services.changes import confirm_change
from subscriptions.services.scheduled_changes import cancel_scheduled_change


class Command(DomainCommand):
    help = (
        "Change an organisation's plan now, or at the end of its period (--at-period-end), "
        "as an operator; --cancel-scheduled (no PLAN) cancels a scheduled change. "
        "--dry-run prints the impact only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", metavar="ORG", help="The organisation's slug.")
        parser.add_argument(
            "plan",
            metavar="PLAN",
            nargs="?",
            help="free, standard, professional or enterprise (not with --cancel-scheduled).",
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
        when = parser.add_mutually_exclusive_group()
        when.add_argument(
            "--at-period-end",
            action="store_true",
            help="Schedule the change (a downgrade, fewer seats or the other cycle) for the "
            "first day of the next period; nothing changes now.",
        )
        when.add_argument(
            "--cancel-scheduled",
            action="store_true",
            help="Cancel the change scheduled for the end of the period (give no PLAN).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the impact, change nothing."
        )
        parser.add_argument(
            "--promise",
            help="The promise a --dry-run printed: make the change only if its figures are "
            "still those.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = organisation_by_slug(options["organisation"])
        if options["cancel_scheduled"]:
            if options["plan"]:
                raise CommandError("--cancel-scheduled takes no PLAN.")
            self._cancel(organisation, dry_run=options["dry_run"])
            return
        if not options["plan"]:
            raise CommandError("Give the PLAN to change to (or --cancel-scheduled).")
        preview = preview_plan_change(
            organisation, options["plan"], cycle=options["cycle"], seats=options["seats"]
        )
        self.stdout.write(describe(preview, at_period_end=options["at_period_end"]))
        if options["dry_run"]:
            return
        if preview.refusal is not None:
            raise preview.refusal
        keep = self._keep_ids(organisation, options["keep_agent"])
        done = confirm_change(
            organisation,
            options["plan"],
            at_period_end=options["at_period_end"],
            acting_user=None,
            cycle=options["cycle"],
            seats=options["seats"],
            keep_user_ids=keep,
            promise=options["promise"] or preview.promise,
        )
        if isinstance(done, ScheduledChange):
            self.stdout.write(
                self.style.SUCCESS(
                    f"{organisation.slug} moves to {done.to_plan.code} "
                    f"({done.to_cycle}, {done.seats_after} seats) on "
                    f"{done.effective.isoformat()}."
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{organisation.slug} is now on {done.to_plan.code} "
                f"({done.to_cycle}, {done.seats_after} seats)."
            )
        )
        if cancelled_by(done) is not None:
            self.stdout.write("The change scheduled for the end of the period was cancelled.")

    def _cancel(self, organisation: Organisation, *, dry_run: bool) -> None:
        scheduled = scheduled_change_of(organisation)
        if scheduled is None:
            raise CommandError(f"{organisation.slug} has no scheduled change.")
        self.stdout.write(
            f"{organisation.slug}: scheduled {scheduled.to_plan.code} ({scheduled.to_cycle}, "
            f"{scheduled.seats_after} seats) on {scheduled.effective.isoformat()}"
        )
        if dry_run:
            return
        cancel_scheduled_change(organisation, acting_user=None)
        self.stdout.write(self.style.SUCCESS("Cancelled; the subscription renews as it is."))

    def _keep_ids(self, organisation: Organisation, emails: list[str]) -> list[int]:
        wanted = {email.strip().lower() for email in emails}
        with tenant_context(organisation):
            found = dict(User.objects.filter(email__in=wanted).values_list("email", "pk"))
        unknown = sorted(wanted - found.keys())
        if unknown:
            raise CommandError(
                f"No user with the email {', '.join(unknown)} in {organisation.slug}."
            )
        return list(found.values())


def describe(preview: PlanChangePreview, *, at_period_end: bool = False) -> str:
    """The preview in plain words, for operators (of a change now, or at the end of the
    period: then its day instead of the money of the rest of the period)."""
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
    if at_period_end:
        schedulable = "" if preview.schedulable else " (only downgrades, fewer seats or a cycle)"
        lines.append(f"at the end of the period: from {preview.effective.isoformat()}{schedulable}")
        lines.append(f"next bill: {format_amount(preview.new_price, preview.currency)} + tax")
        lines.append(f"promise: {preview.promise}")
        return "\n".join(lines)
    quote = preview.quote
    lines.append(
        f"remaining days: {quote.remaining_days}; "
        f"refund quote: {format_amount(quote.refund, preview.currency)}; "
        f"amount due: {format_amount(quote.due, preview.currency)}"
    )
    lines.append(f"promise: {preview.promise}")
    return "\n".join(lines)
