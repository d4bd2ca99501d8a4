"""Trials: a new organisation may start on a paid plan for some days
(``SUBSCRIPTIONS_TRIAL_PLAN``, ``…_DAYS``, ``…_SEATS``; 0 days: on Free, no trial), nothing
paid. Choosing a paid plan meanwhile is a change of its own kind ("subscribe": a paid
period from that day, ``selectors.change_rules``). Otherwise the trial's period renews onto
Free (``selectors.periods.renewals``): ``end_trial`` is what that renewal does, by the rules
dunning's fall back uses (nothing deleted; who keeps a seat by ``seats.kept_by_rule``).
One trial per organisation: it starts only with the organisation; staff may extend it."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.services import deactivate_for_seats
from audit.services import Action, actor_fields, record
from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import NoteRequired, NotOnTrial, TrialDaysInvalid
from subscriptions.models import ChangeKind, PlanChange, Subscription
from subscriptions.selectors.trials import days_left
from subscriptions.services import notices
from subscriptions.services.guards import require_staff
from subscriptions.services.locks import locked_subscription
from subscriptions.services.seats import leaving_by_rule
from subscriptions.snapshots import snapshot

logger = logging.getLogger(__name__)

# The most days staff add to a trial at once.
MAX_EXTENSION_DAYS = 90


def end_trial(organisation: Organisation, trial: Subscription, on_free: Subscription) -> None:
    """Within the renewal that ends ``trial`` (under the subscription's lock): the users
    beyond Free's seats deactivated by ``seats.kept_by_rule`` (never deleted), a plan change
    of Free's first day (nothing to pay or refund: nothing was paid), audited, and the
    primary contact told what happened and how to choose a plan."""
    leaving = leaving_by_rule(organisation, seats=on_free.seats)
    if leaving:
        with tenant_context(organisation):
            deactivate_for_seats(leaving, acting_user=None, organisation=organisation)
    change = PlanChange.objects.create(
        organisation=organisation,
        from_plan=trial.plan,
        to_plan=on_free.plan,
        kind=ChangeKind.DOWNGRADE,
        from_cycle=trial.cycle,
        to_cycle=on_free.cycle,
        seats_before=trial.seats,
        seats_after=on_free.seats,
        currency=on_free.currency,
        changed_on=on_free.period_start,
        period_end=on_free.period_end,
        remaining_days=0,
        paid_daily_before=0,
        new_daily=0,
        refund_quote=0,
        amount_due=0,
        new_price=0,
        deactivated_user_ids=leaving,
        **actor_fields(None),
    )
    record(
        Action.TRIAL_ENDED,
        acting_user=None,
        organisation=organisation,
        target=change,
        before=snapshot(trial),
        after={**snapshot(on_free), "deactivated_user_ids": leaving},
    )
    notices.tell_primary_contact(organisation, "trial_ended", change=change, trial=trial)


def extend_trial(
    organisation: Organisation, *, days: int, note: str, acting_user: User | None
) -> Subscription:
    """Staff give a trial ``days`` more (1 to ``MAX_EXTENSION_DAYS``), with the reason,
    audited: it still ends on Free unless a plan is chosen. Only a trial that has not ended."""
    require_staff(acting_user, "subscriptions.change_subscription")
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise TrialDaysInvalid(most=MAX_EXTENSION_DAYS)
    if not note.strip():
        raise NoteRequired()
    with transaction.atomic():
        subscription = locked_subscription(organisation)
        today = clock.today(organisation)
        if subscription.trial_ends_on is None or today > subscription.period_end:
            raise NotOnTrial(organisation=organisation.name)
        before = snapshot(subscription)
        subscription.period_end += timedelta(days=days)
        subscription.trial_ends_on += timedelta(days=days)
        subscription.save_terms()
        record(
            Action.TRIAL_EXTENDED,
            acting_user=acting_user,
            organisation=organisation,
            target=subscription,
            before=before,
            after={**snapshot(subscription), "days": days, "note": note.strip()},
        )
    return subscription


def send_trial_reminders(today: date | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Email each primary contact whose trial ends within one of
    ``SUBSCRIPTIONS_TRIAL_REMINDER_DAYS`` (7 and 1) of their organisation's today
    (``today``, when given, for every one): once per threshold, the latest one reached
    (``trial_reminded_on``, set under the subscription's lock: two runs remind once).
    Returns the organisations reminded and those that failed."""
    thresholds = sorted(set(settings.SUBSCRIPTIONS_TRIAL_REMINDER_DAYS))
    if not thresholds:
        return [], []
    if today is not None:
        soon = Q(trial_ends_on__lte=today + timedelta(days=thresholds[-1]))
    else:
        soon = clock.by_each_clock("trial_ends_on", "lte", days=thresholds[-1])
    coming = Subscription.objects.filter(soon, trial_ends_on__isnull=False, closes_on__isnull=True)
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    for pk, slug in coming.order_by("pk").values_list("pk", "organisation__slug"):
        try:
            with transaction.atomic():
                if _remind(pk, thresholds, today):
                    sent.append(slug)
        except Exception as error:  # reported; the next organisation is still reminded
            logger.exception("Reminding %s of its trial's end failed", slug)
            failed.append((slug, str(error)))
    return sent, failed


def _remind(pk: int, thresholds: list[int], today: date | None) -> bool:
    """Under the subscription's lock: remind its primary contact if a threshold was
    reached since the last reminder; whether it did."""
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("organisation", "plan")
        .filter(pk=pk, trial_ends_on__isnull=False)
        .first()
    )
    if subscription is None or subscription.trial_ends_on is None:  # ended meanwhile
        return False
    ends, organisation = subscription.trial_ends_on, subscription.organisation
    day = today or clock.today(organisation)
    left = days_left(subscription, day)
    reached = [d for d in thresholds if d >= left]
    if left == 0 or not reached:  # ended (its renewal ends it) or not yet
        return False
    due_on = ends - timedelta(days=min(reached))
    if subscription.trial_reminded_on is not None and subscription.trial_reminded_on >= due_on:
        return False
    subscription.trial_reminded_on = day
    subscription.save(update_fields=["trial_reminded_on"])
    notices.tell_primary_contact(
        organisation, "trial_ending", subscription=subscription, days_left=left
    )
    return True
