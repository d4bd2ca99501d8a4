"""manage.py delete_organisation SLUG [--force --reason TEXT]: delete a closed organisation
(``organisations.deletion``): its schema dropped, its people forgotten, its books kept.
Before its grace period ends it needs ``--reason``; an organisation that is not closed is
refused unless ``--force`` with a reason (it is closed now first). Audited; idempotent (a
deleted organisation is said, not deleted again); a deletion stopped halfway resumes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from organisations.deletion import delete_organisation
from organisations.models import Deletion
from portal.management.rows import organisation_by_slug
from portal.models import Organisation
from portal.refusals import DomainCommand


class Command(DomainCommand):
    help = (
        "Delete a closed organisation: its schema dropped, its people forgotten, its "
        "invoices and ledger kept. --force with --reason deletes one not closed (closing it now)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", metavar="SLUG", help="The organisation's slug.")
        parser.add_argument(
            "--force", action="store_true", help="Delete it even if it is not closed yet."
        )
        parser.add_argument(
            "--reason",
            default="",
            help="Why (needed with --force, or before its grace period ends).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["organisation"]
        if not Organisation.objects.filter(slug=slug).exists():
            done = (
                Deletion.objects.filter(former_slug=slug, step=Deletion.Step.DONE)
                .select_related("organisation")
                .order_by("-finished_at")
                .first()
            )
            if done is not None:  # deleted already: said, not done again
                self._say_done(done)
                return
        if options["force"] and not options["reason"].strip():
            raise CommandError("--force needs --reason: say why it is deleted.")
        organisation = organisation_by_slug(slug)
        deletion = delete_organisation(
            organisation, acting_user=None, reason=options["reason"], force=options["force"]
        )
        self._say_done(deletion)

    def _say_done(self, deletion: Deletion) -> None:
        self.stdout.write(
            f"{deletion.former_slug}: deleted on {deletion.organisation.deleted_on}; its "
            f"address is free again on {deletion.address_free_on}; its books stay under "
            f"“{deletion.organisation.slug}” (invoices, ledger, audit --org)."
        )
