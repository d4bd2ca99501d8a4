"""Changes at the end of the period (docs/domain.md, Time): scheduling one, cancelling it,
and an immediate change replacing it. Nothing about the subscription changes until the
renewal that applies it (``services.subscription``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils import translation

from accounts.models import User
from audit.services import Action, actor_fields, record
from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import NothingScheduled
from subscriptions.models import PlanChange, ScheduledChange
from subscriptions.models.changes import terms_of
from subscriptions.selectors.catalogue import get_plan
from subscriptions.selectors.scheduled_changes import scheduled_change_of
from subscriptions.services import notices, resolutions
from subscriptions.services.change_checks import check_change
from subscriptions.services.guards import require_subscription_manager
from subscriptions.services.locks import locked_subscription
from subscriptions.snapshots import scheduled_snapshot


def schedule_change(
    organisation: Organisation,
    plan_code: str,
    *,
    acting_user: User | None,
    cycle: str | None = None,
    seats: int | None = None,
    keep_user_ids: Iterable[int] | None = None,
    today: date | None = None,
    promise: str | None = None,
    idempotency_key: str | None = None,
) -> ScheduledChange:
    """Schedule a downgrade, fewer seats or the other billing cycle for the first day
    of the next period; nothing else changes now and no refund is quoted. The change must
    be one that could be made now (same rules, same refusals) and may wait
    (``PlanChangePreview.schedulable``); who keeps a seat is chosen now, as for a change
    now, and checked again when it applies. A change already scheduled is replaced (at
    most one per organisation). The primary contact is told. ``promise``: as for
    ``change_plan``, the figures the confirmer saw (``QuoteChanged`` when they moved). A
    repeated ``idempotency_key`` returns the change it scheduled, changing nothing."""
    day = today or clock.today(organisation)
    to_plan = get_plan(plan_code)
    with transaction.atomic():
        subscription = locked_subscription(organisation)
        if idempotency_key:
            done = ScheduledChange.objects.filter(
                organisation=organisation, idempotency_key=idempotency_key
            ).first()
            if done is not None:  # returned only to someone who may change the plan now
                require_subscription_manager(organisation, acting_user)
                return done
        checked = check_change(
            organisation,
            subscription,
            to_plan,
            acting_user=acting_user,
            cycle=cycle,
            seats=seats,
            keep_user_ids=keep_user_ids,
            today=day,
            promise=promise,
            at_period_end=True,
        )
        preview, leaving = checked.preview, checked.leaving
        replaced = scheduled_change_of(organisation)
        if replaced is not None:
            _cancel(organisation, replaced, acting_user=acting_user, note="replaced")
        scheduled = ScheduledChange.objects.create(
            organisation=organisation,
            **terms_of(preview),
            keep_user_ids=sorted(int(pk) for pk in keep_user_ids or []) if leaving else [],
            effective=preview.effective,
            language=translation.get_language() or "",
            idempotency_key=idempotency_key or None,
            **actor_fields(acting_user),
        )
        record(
            Action.CHANGE_SCHEDULED,
            acting_user=acting_user,
            organisation=organisation,
            target=scheduled,
            before={"plan": preview.from_plan.code, "seats": preview.seats_before},
            after={**scheduled_snapshot(scheduled), "leaving_user_ids": leaving},
        )
        notices.tell_primary_contact(
            organisation, "change_scheduled", scheduled=scheduled, price=preview.new_price
        )
    return scheduled


def cancel_scheduled_change(
    organisation: Organisation, *, acting_user: User | None
) -> ScheduledChange:
    """Cancel the change waiting for the end of the period (the customer's managers,
    staff or an operator): the subscription renews as it is. ``NothingScheduled`` when
    there is none."""
    with transaction.atomic():
        locked_subscription(organisation)
        require_subscription_manager(organisation, acting_user)
        scheduled = scheduled_change_of(organisation)
        if scheduled is None:
            raise NothingScheduled()
        _cancel(organisation, scheduled, acting_user=acting_user)
        notices.tell_primary_contact(organisation, "scheduled_cancelled", scheduled=scheduled)
    return scheduled


def cancel_for_change(
    organisation: Organisation, change: PlanChange, *, acting_user: User | None
) -> ScheduledChange | None:
    """Within an immediate change (holding the subscription's lock): cancel the change
    that was waiting for the end of the period, linked to ``change`` so that its result
    page says so. Returns it, or None."""
    scheduled = scheduled_change_of(organisation)
    if scheduled is not None:
        _cancel(
            organisation,
            scheduled,
            acting_user=acting_user,
            note="replaced_by_change",
            plan_change=change,
        )
    return scheduled


def _cancel(
    organisation: Organisation,
    scheduled: ScheduledChange,
    *,
    acting_user: User | None,
    note: str = "",
    plan_change: PlanChange | None = None,
) -> None:
    resolutions.resolve(
        organisation,
        scheduled,
        ScheduledChange.Status.CANCELLED,
        acting_user=acting_user,
        note=note,
        plan_change=plan_change,
    )
