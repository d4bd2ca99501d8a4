"""manage.py migrate_organisations [--parallel N] [--all] [--organisations-only]

The deploy's migrations: the public schema, then every organisation's schema that is not
at the latest migration state (portal/schemas/deploy.py). As the owner role
(``DATABASE_OWNER_URL``; portal/db/roles.py), the only one that may change schemas. Ctrl-C or
SIGTERM stops it once the organisations in flight are done (exit status 130 or 143); run it
again to resume."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.db.roles import connect_as_owner
from portal.schemas import deploy
from portal.schemas.provisioning import schema_template


class Command(BaseCommand):
    help = (
        "Migrate the public schema, then the organisations' schemas that are not at the "
        "latest migration state (found with one query; the others are skipped), N at a "
        "time. A failing organisation is reported and the others go on; run the command "
        "again to retry it: the organisations done are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--parallel",
            type=int,
            default=getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2),
            metavar="N",
            help="Organisations migrated at once, each in its own process (default: "
            "TENANT_MULTIPROCESSING_MAX_PROCESSES, else 2).",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="Migrate every organisation, even those recorded at the latest state (after "
            "a schema was changed by hand or taken back with migrate_schemas).",
        )
        parser.add_argument(
            "--organisations-only",
            action="store_true",
            help="Leave the public schema alone.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        started = time.perf_counter()
        connect_as_owner()
        if not options["organisations_only"]:
            call_command(
                "migrate_schemas",
                shared=True,
                executor="standard",
                interactive=False,
                skip_checks=True,
                verbosity=verbosity,
            )
        schema_template()  # captured now if the migrations changed, not by the next signup
        pending = deploy.pending_schemas(everything=options["everything"])
        self.stdout.write(
            f"{_organisations(pending.total)}: {len(pending.to_migrate)} to migrate, "
            f"{pending.skipped} at the latest state."
        )
        width = len(str(len(pending.to_migrate)))
        failed = {name: "its schema does not exist" for name in pending.missing}
        outcomes = deploy.migrate_each(
            pending.to_migrate,
            state=pending.state,
            parallel=options["parallel"],
            verbosity=max(verbosity - 1, 0),
        )
        done = 0
        try:
            for done, outcome in enumerate(outcomes, 1):
                prefix = f"[{done:>{width}}/{len(pending.to_migrate)}] {outcome.schema_name}"
                if outcome.failed:
                    failed[outcome.schema_name] = outcome.error
                    self.stderr.write(f"{prefix} FAILED: {outcome.error}")
                    if verbosity >= 2:
                        self.stderr.write(outcome.details)
                else:
                    how = "replayed" if outcome.replayed else "migrated"
                    self.stdout.write(f"{prefix} {how} in {outcome.seconds:.2f} s")
                if done == 1 and len(pending.to_migrate) > 1:
                    self.stdout.write(_the_others(outcome))
        except deploy.Stopped as stopped:
            left = len(pending.to_migrate) - done
            raise CommandError(
                f"Stopped by {stopped.signal_name} after {_organisations(done)}: each one in "
                f"flight finished or was rolled back, no process is left. "
                f"{_organisations(left)} still behind: run the command again to resume.",
                returncode=128 + signal.Signals[stopped.signal_name].value,
            ) from None
        migrated = len(pending.to_migrate) - (len(failed) - len(pending.missing))
        took = time.perf_counter() - started
        if pending.to_migrate:
            self.stdout.write(f"Migrated {_organisations(migrated)} in {took:.1f} s.")
        else:  # the shared tables (and the schema template) were all there was to do
            self.stdout.write(f"Database ready in {took:.1f} s: no organisation was behind.")
        if failed:
            for name, error in failed.items():
                self.stderr.write(f"{name}: {error}")
            raise CommandError(
                f"{_organisations(len(failed))} not at the latest state: "
                f"{', '.join(failed)}. Run the command again once fixed: it migrates only "
                "the organisations still behind."
            )


def _the_others(first: deploy.Outcome) -> str:
    """How the organisations after the first are migrated."""
    if first.replay is not None:
        return "  The others replay its statements (those with the same migrations)."
    why = first.note or "it failed"
    return f"  The others are migrated by Django's migrations: {why}."


def _organisations(count: int) -> str:
    return f"{count} organisation" if count == 1 else f"{count} organisations"
