"""Closing an organisation: the closure scheduled for the end of the paid period (cancelled
until then), and the closing itself, when that day comes (``subscription.renew``: the period
is not renewed) or now (``services.closing``). A closed organisation's site says so
(``portal.middleware``), nobody signs in, and nothing is billed (``run_billing`` renews no
closed organisation). Who may: its primary contact, staff, operators (``require_closer``)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils.formats import date_format

from accounts.models import User
from audit.services import Action, record
from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import (
    AlreadyClosed,
    ClosureAlreadyScheduled,
    NoClosureScheduled,
)
from subscriptions.models import ScheduledChange, Subscription
from subscriptions.selectors.scheduled_changes import scheduled_change_of
from subscriptions.services import notices, resolutions
from subscriptions.services.guards import require_primary_contact
from subscriptions.services.locks import locked_subscription
from subscriptions.snapshots import snapshot


def require_closer(organisation: Organisation, acting_user: User | None) -> None:
    """Its primary contact, staff who may change organisations, operators."""
    require_primary_contact(organisation, acting_user, or_staff_with="portal.change_organisation")


def refuse_if_closed(organisation: Organisation) -> None:
    """``AlreadyClosed`` for a closed organisation: nothing of it changes any more."""
    if organisation.closed_on is not None:
        raise AlreadyClosed(
            organisation=organisation.name, date=date_format(organisation.closed_on, "DATE_FORMAT")
        )


def schedule_closure(
    organisation: Organisation, *, acting_user: User | None, today: date | None = None
) -> date:
    """Close the organisation when its paid period ends (the day after), audited and its
    primary contact told; a change scheduled for then will not come. Until then nothing
    changes, and the closure can be cancelled. Returns the day it closes."""
    require_closer(organisation, acting_user)
    refuse_if_closed(organisation)
    day = today or clock.today(organisation)
    with transaction.atomic():
        subscription = locked_subscription(organisation)
        if subscription.closes_on is not None:
            raise ClosureAlreadyScheduled(
                organisation=organisation.name,
                date=date_format(subscription.closes_on, "DATE_FORMAT"),
            )
        # The period the subscription is in today (a renewal not yet made would come first).
        end = max(subscription.period_end, day - timedelta(days=1))
        subscription.closes_on = end + timedelta(days=1)
        subscription.save(update_fields=["closes_on"])
        cancel_scheduled_change(organisation, acting_user=acting_user)
        record(
            Action.CLOSURE_SCHEDULED,
            acting_user=acting_user,
            organisation=organisation,
            target=subscription,
            after={"closes_on": subscription.closes_on},
        )
        notices.tell_primary_contact(organisation, "closure_scheduled", subscription=subscription)
    return subscription.closes_on


def cancel_closure(organisation: Organisation, *, acting_user: User | None) -> Subscription:
    """The scheduled closure will not happen: the subscription renews as before, audited."""
    require_closer(organisation, acting_user)
    refuse_if_closed(organisation)
    with transaction.atomic():
        subscription = locked_subscription(organisation)
        if subscription.closes_on is None:
            raise NoClosureScheduled(organisation=organisation.name)
        before = {"closes_on": subscription.closes_on}
        subscription.closes_on = None
        subscription.save(update_fields=["closes_on"])
        record(
            Action.CLOSURE_CANCELLED,
            acting_user=acting_user,
            organisation=organisation,
            target=subscription,
            before=before,
        )
        notices.tell_primary_contact(organisation, "closure_cancelled", subscription=subscription)
    return subscription


def cancel_scheduled_change(organisation: Organisation, *, acting_user: User | None) -> None:
    """Within a closure (holding the subscription's lock): the change that was waiting
    for the end of the period will not come."""
    scheduled = scheduled_change_of(organisation)
    if scheduled is not None:
        resolutions.resolve(
            organisation,
            scheduled,
            ScheduledChange.Status.CANCELLED,
            acting_user=acting_user,
            note="replaced_by_closure",
        )


def close(
    organisation: Organisation,
    subscription: Subscription,
    day: date,
    *,
    acting_user: User | None,
) -> None:
    """Within a transaction holding the subscription's lock: the organisation is closed
    from ``day`` (its site says so from then; nothing is billed after), audited, and its
    primary contact told (before: nobody can sign in afterwards)."""
    organisation.closed_on = day
    organisation.save(update_fields=["closed_on"])  # its host's cache forgets it
    subscription.closes_on = day
    subscription.save(update_fields=["closes_on"])
    record(
        Action.ORGANISATION_CLOSED,
        acting_user=acting_user,
        organisation=organisation,
        target=subscription,
        after={**snapshot(subscription), "closed_on": day},
    )
    notices.tell_primary_contact(
        organisation, "closed", day=day, export_until=clock.closed_export_until(organisation)
    )
