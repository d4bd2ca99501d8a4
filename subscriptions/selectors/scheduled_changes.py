"""Changes waiting for the end of the period (``models.ScheduledChange``)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Q, QuerySet

from portal import clock
from portal.db.prepared import Prepared
from portal.models import Organisation
from subscriptions.models import PlanChange, ScheduledChange


def scheduled_change_of(organisation: Organisation) -> ScheduledChange | None:
    """The change waiting for the end of the organisation's period, or None (one query).
    One at most (``subscriptions_one_scheduled_change``)."""
    try:
        return _SCHEDULED.get(organisation=organisation)
    except ScheduledChange.DoesNotExist:
        return None


# Every Store page asks: its SQL is built once (portal/db/prepared.py).
_SCHEDULED = Prepared(
    lambda organisation: ScheduledChange.objects.select_related("to_plan", "from_plan").filter(
        organisation=organisation, status=ScheduledChange.Status.SCHEDULED
    )
)


def scheduled_changes_of(organisation: Organisation) -> QuerySet[ScheduledChange]:
    """Every change the organisation scheduled, newest first, whatever became of it."""
    return ScheduledChange.objects.select_related("to_plan", "from_plan").filter(
        organisation=organisation
    )


def cancelled_by(change: PlanChange) -> ScheduledChange | None:
    """The scheduled change that the immediate ``change`` cancelled, if any."""
    return (
        ScheduledChange.objects.select_related("to_plan")
        .filter(plan_change=change, status=ScheduledChange.Status.CANCELLED)
        .first()
    )


def reminders_due(today: date | None, days_before: int) -> QuerySet[ScheduledChange]:
    """Scheduled changes taking effect within ``days_before`` days after their
    organisation's today (``today``, when given, for every organisation) whose primary
    contact has not been reminded yet (one reminder each)."""
    if today is not None:
        coming = Q(effective__gt=today, effective__lte=today + timedelta(days=days_before))
    else:
        coming = clock.by_each_clock("effective", "gt") & clock.by_each_clock(
            "effective", "lte", days=days_before
        )
    return ScheduledChange.objects.filter(
        coming, status=ScheduledChange.Status.SCHEDULED, reminded_on__isnull=True
    ).order_by("effective", "pk")
