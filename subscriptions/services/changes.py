"""The one entry point of a confirmed change: made now, or scheduled for the end of the
period. The Store, the admin and ``manage.py change_plan`` all come here with what their
confirmation carried (the figures it showed, its idempotency key); they differ only in how
they ask and how they say what was done."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from portal.models import Organisation
from subscriptions.models import PlanChange, ScheduledChange
from subscriptions.services import plan_changes, scheduled_changes


def confirm_change(
    organisation: Organisation,
    plan_code: str,
    *,
    at_period_end: bool,
    acting_user: User | None,
    cycle: str | None = None,
    seats: int | None = None,
    keep_user_ids: Iterable[int] | None = None,
    promise: str | None = None,
    idempotency_key: str | None = None,
    authenticated_payment: str = "",
) -> PlanChange | ScheduledChange:
    """``plan_changes.change_plan`` now, or ``scheduled_changes.schedule_change`` for the
    period's end: the same checks, refusals and promise; the same key sent twice makes
    or schedules the change once. ``authenticated_payment``: the hold the customer confirmed
    in the page (3-D Secure) for a change made now."""
    if at_period_end:
        return scheduled_changes.schedule_change(
            organisation,
            plan_code,
            acting_user=acting_user,
            cycle=cycle,
            seats=seats,
            keep_user_ids=keep_user_ids,
            promise=promise,
            idempotency_key=idempotency_key,
        )
    return plan_changes.change_plan(
        organisation,
        plan_code,
        acting_user=acting_user,
        cycle=cycle,
        seats=seats,
        keep_user_ids=keep_user_ids,
        promise=promise,
        idempotency_key=idempotency_key,
        authenticated_payment=authenticated_payment,
    )
