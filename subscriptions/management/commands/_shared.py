"""How ``run_billing`` and ``clock advance`` print a billing run."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from subscriptions.services.billing import BillingRun


def write_billing_run(command: BaseCommand, report: BillingRun) -> None:
    """A billing run as ``run_billing`` and ``clock advance`` print it: a line per
    organisation and what happened to it (failures on stderr), then the counts; a
    ``CommandError`` when any failed."""
    for slug, reference in report.captured:
        command.stdout.write(f"{slug}: payment {reference} taken")
    for slug, periods in report.renewed:
        command.stdout.write(f"{slug}: renewed ({periods} period{'s' if periods > 1 else ''})")
    for slug in report.applied:
        command.stdout.write(f"{slug}: scheduled change applied")
    for slug, reason in report.not_applied:
        command.stdout.write(f"{slug}: scheduled change not applied: {reason}")
    for slug, what in [*report.collected, *report.dunned]:
        command.stdout.write(f"{slug}: {what}")
    for slug in report.reminded:
        command.stdout.write(f"{slug}: reminded of its scheduled change")
    for slug in report.renewals_announced:
        command.stdout.write(f"{slug}: told of its annual renewal")
    for slug in report.trials_ended:
        command.stdout.write(f"{slug}: trial ended, moved to Free")
    for slug in report.trials_reminded:
        command.stdout.write(f"{slug}: reminded of its trial's end")
    for slug in report.closed:
        command.stdout.write(f"{slug}: closed")
    for slug, reason in report.failed:
        command.stderr.write(f"{slug}: failed: {reason}")
    command.stdout.write(
        f"{report.today}: {len(report.renewed)} renewed, {len(report.applied)} scheduled "
        f"changes applied, {len(report.reminded)} reminded, {len(report.failed)} failed."
    )
    if report.failed:
        raise CommandError(f"{len(report.failed)} organisation(s) failed.")
