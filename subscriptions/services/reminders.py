"""Reminding the primary contact, some days before, of the change their next renewal
will make (``SUBSCRIPTIONS_REMINDER_DAYS``)."""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.db import transaction

from portal import clock
from subscriptions.models import ScheduledChange
from subscriptions.selectors.periods import list_price
from subscriptions.selectors.scheduled_changes import reminders_due
from subscriptions.services import notices

logger = logging.getLogger(__name__)


def send_reminders(today: date | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Email each primary contact whose scheduled change takes effect within
    ``SUBSCRIPTIONS_REMINDER_DAYS`` days of their organisation's today (``today``, when
    given, for every one), once per change (``reminded_on``, set under the change's row
    lock: two runs at once remind once). Returns the organisations reminded and those that
    failed (slug and why); one failure does not stop the others."""
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    due = reminders_due(today, settings.SUBSCRIPTIONS_REMINDER_DAYS)
    for pk, slug in due.values_list("pk", "organisation__slug"):
        try:
            with transaction.atomic():
                scheduled = (
                    ScheduledChange.objects.select_for_update(of=("self",))
                    .select_related("organisation", "to_plan")
                    .filter(
                        pk=pk,
                        status=ScheduledChange.Status.SCHEDULED,
                        reminded_on__isnull=True,
                    )
                    .first()
                )
                if scheduled is None:  # cancelled, applied or reminded meanwhile
                    continue
                organisation = scheduled.organisation
                scheduled.reminded_on = today or clock.today(organisation)
                scheduled.save(update_fields=["reminded_on"])
                price = list_price(
                    scheduled.to_plan,
                    scheduled.to_cycle,
                    scheduled.seats_after,
                    organisation.subscription.currency,
                )
                notices.tell_primary_contact(
                    organisation,
                    "scheduled_reminder",
                    language=scheduled.language,
                    scheduled=scheduled,
                    price=price,
                )
        except Exception as error:  # reported; the next organisation is still reminded
            logger.exception("Reminding %s failed", slug)
            failed.append((slug, str(error)))
        else:
            sent.append(slug)
    return sent, failed
