"""Reminding the primary contact, some days before, of the change their next renewal
will make (``SUBSCRIPTIONS_REMINDER_DAYS``), and an annual subscription's billing addresses
of its renewal (``SUBSCRIPTIONS_RENEWAL_REMINDER_DAYS``)."""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.db import transaction

from portal import clock
from subscriptions.models import ScheduledChange, Subscription
from subscriptions.selectors.periods import list_price, next_bill, renewals_to_remind
from subscriptions.selectors.scheduled_changes import reminders_due, scheduled_change_of
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


def send_renewal_reminders(today: date | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Tell each annual subscription's billing addresses (and primary contact), once per
    period, ``SUBSCRIPTIONS_RENEWAL_REMINDER_DAYS`` days or fewer before it renews, on what
    day and for how much (tax included). Returns the organisations told and those that
    failed."""
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    days = settings.SUBSCRIPTIONS_RENEWAL_REMINDER_DAYS
    for pk, slug in renewals_to_remind(today, days).values_list("pk", "organisation__slug"):
        try:
            with transaction.atomic():
                subscription = (
                    Subscription.objects.select_for_update(of=("self",))
                    .select_related("organisation", "plan")
                    .filter(pk=pk)
                    .first()
                )
                if subscription is None or (
                    subscription.renewal_reminded_on is not None
                    and subscription.renewal_reminded_on >= subscription.period_start
                ):
                    continue  # reminded meanwhile
                organisation = subscription.organisation
                subscription.renewal_reminded_on = today or clock.today(organisation)
                subscription.save(update_fields=["renewal_reminded_on"])
                bill = next_bill(
                    subscription,
                    today=subscription.renewal_reminded_on,
                    scheduled=scheduled_change_of(organisation),
                )
                notices.tell_billing_contacts(organisation, "renewal_reminder", bill=bill)
        except Exception as error:  # reported; the next organisation is still told
            logger.exception("Reminding %s of its renewal failed", slug)
            failed.append((slug, str(error)))
        else:
            sent.append(slug)
    return sent, failed
