"""manage.py export_organisation SLUG --to FILE: write the organisation's data (the archive
``organisations.exports`` builds: CSV and JSON files with a README) to FILE, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from audit.services import Action, record
from organisations import exports
from portal.management.rows import organisation_by_slug
from portal.refusals import DomainCommand


class Command(DomainCommand):
    help = "Write an organisation's data (a ZIP archive of CSV and JSON files) to FILE."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", metavar="SLUG", help="The organisation's slug.")
        parser.add_argument("--to", required=True, metavar="FILE", help="The ZIP file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        # A deleted one is found, to say that it has nothing to export.
        organisation = organisation_by_slug(options["organisation"], deleted_too=True)
        target = Path(options["to"])
        data = exports.archive(organisation)
        try:
            if "\x00" in options["to"] or target.is_dir() or not target.parent.is_dir():
                raise CommandError(
                    f"Cannot write “{options['to']}”: give a file in a folder that exists."
                )
            target.write_bytes(data)
        except OSError as error:  # a name too long, a folder not ours
            raise CommandError(f"Cannot write “{target}”: {error.strerror}.") from None
        with transaction.atomic():
            record(
                Action.EXPORT_WRITTEN,
                acting_user=None,
                organisation=organisation,
                target=organisation,
                after={"file": str(target), "size": len(data)},
            )
        self.stdout.write(f"{organisation.slug}: {len(data)} bytes written to {target}.")
