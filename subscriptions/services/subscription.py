"""Starting an organisation's subscription, and renewing periods that ended (within a
change, or for every subscription due: ``run_billing``), with the change scheduled for
the period's end when its day comes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import translation
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.services import deactivate_for_seats
from audit.services import Action, record
from portal import clock
from portal.exceptions import DomainError
from portal.models import Organisation
from subscriptions.exceptions import InvalidChoice, ScheduledChangeOutdated
from subscriptions.models import (
    BillingCycle,
    Currency,
    PlanChange,
    ScheduledChange,
    Subscription,
)
from subscriptions.models.changes import terms_of
from subscriptions.selectors.catalogue import (
    get_plan,
    valid_choice,
    valid_seats,
)
from subscriptions.selectors.change_rules import change_refusal
from subscriptions.selectors.periods import Rates, list_price, renewals
from subscriptions.selectors.scheduled_changes import scheduled_change_of
from subscriptions.services import closures, collection, ledger, notices, resolutions, trials
from subscriptions.services.guards import require_staff
from subscriptions.services.seats import leaving_when_due
from subscriptions.snapshots import snapshot

logger = logging.getLogger(__name__)


def start_subscription(
    organisation: Organisation,
    *,
    plan_code: str = "free",
    cycle: str = BillingCycle.MONTHLY,
    seats: int | None = None,
    currency: str = Currency.JPY,
    amount_paid: Decimal | None = None,
    acting_user: User | None = None,
    period_start: date | None = None,
    trial_days: int = 0,
) -> Subscription:
    """Put a new organisation on a plan with a first period beginning ``period_start``
    (default today; any day, past or future, for a customer imported from elsewhere),
    its billing anchor. ``amount_paid`` (default: the list price) is what was actually
    paid, discounts included. ``trial_days``: a trial of the plan instead, that long and
    paid nothing, after which it falls back to Free (``services.trials``)."""
    require_staff(acting_user, "subscriptions.add_subscription")
    plan = get_plan(plan_code)
    valid_choice(cycle, BillingCycle, "billing cycle")
    valid_choice(currency, Currency, "currency")
    seats = valid_seats(plan, seats if seats is not None else (plan.seat_cap or 1))
    price = list_price(plan, cycle, seats, currency)
    paid = price if amount_paid is None else amount_paid  # paid outside the portal
    if trial_days:
        paid = Decimal(0)
    if paid < 0:
        raise InvalidChoice(value=str(paid), field="amount paid", choices="≥ 0")
    day = period_start or clock.today(organisation)
    with transaction.atomic():
        subscription = Subscription(
            organisation=organisation, plan=plan, cycle=cycle, seats=seats, currency=currency
        )
        subscription.billing_anchor = day
        subscription.begin_period(day, paid)
        if trial_days:
            subscription.trial_started_on = day
            subscription.trial_ends_on = day + timedelta(days=trial_days)
            subscription.period_end = subscription.trial_ends_on - timedelta(days=1)
        subscription.save()
        today = clock.today(organisation)
        invoice = ledger.book_period_charge(organisation, subscription, issued_on=today)
        if invoice is not None:  # what was paid, before the portal
            collection.settled_outside(invoice, day=today)
        record(
            Action.SUBSCRIPTION_STARTED,
            acting_user=acting_user,
            organisation=organisation,
            target=subscription,
            after=snapshot(subscription),
        )
    return subscription


def renew_if_due(
    organisation: Organisation, subscription: Subscription, today: date
) -> Subscription:
    """Within a change that holds the subscription's lock: start the periods that
    ``today`` has reached at list price, each with its charge, audited; the first of them
    on the scheduled change's plan, cycle and seats when its day has come. Returns the
    subscription as of today."""
    return renew(organisation, subscription, today).subscription


@dataclass(frozen=True)
class Renewal:
    """What renewing one subscription did: the subscription afterwards, how many
    periods it started, and the scheduled change applied or set aside (with why)."""

    subscription: Subscription
    periods: int = 0
    applied: ScheduledChange | None = None
    not_applied: ScheduledChange | None = None
    trial_ended: bool = False
    closed: bool = False


def renew(
    organisation: Organisation,
    subscription: Subscription,
    today: date,
    *,
    may_have_scheduled: bool = True,
    rates: Rates | None = None,
) -> Renewal:
    """Book and save the periods ``today`` has reached (``selectors.periods.renewals``),
    applying the scheduled change whose day has come, audited. A billing run says which
    organisations cannot have one (``may_have_scheduled``) and shares its ``rates``."""
    if today <= subscription.period_end:
        return Renewal(subscription)
    if subscription.closes_on is not None and today >= subscription.closes_on:
        # Its closure's day: closed instead of renewed (services.closures).
        closures.close(organisation, subscription, subscription.closes_on, acting_user=None)
        return Renewal(subscription, closed=True)
    scheduled = scheduled_change_of(organisation) if may_have_scheduled else None
    leaving: list[int] = []
    not_applied = None
    if scheduled is not None:
        try:
            leaving = _check_due_change(organisation, subscription, scheduled)
        except DomainError as error:
            with translation.override(scheduled.language or None):  # as its emails say it
                reason = str(error)
            _set_aside(organisation, scheduled, reason=reason)
            scheduled, not_applied = None, scheduled
    periods = renewals(subscription, today, scheduled, rates=rates)
    if scheduled is not None:
        _apply_due_change(organisation, subscription, periods[0], scheduled, leaving)
    if subscription.on_trial:  # its first period after the trial is on Free
        trials.end_trial(organisation, subscription, periods[0])
    for period in periods:
        invoice = ledger.book_period_charge(organisation, period, issued_on=today)
        if invoice is not None:  # every charge sends its document
            notices.send_document(organisation, invoice)
    current = periods[-1]
    before = snapshot(subscription)
    current.save_terms()
    record(
        Action.SUBSCRIPTION_RENEWED,
        acting_user=None,
        organisation=organisation,
        target=current,
        before=before,
        after=snapshot(current),
    )
    return Renewal(
        current,
        len(periods),
        applied=scheduled,
        not_applied=not_applied,
        trial_ended=subscription.on_trial,
    )


def _check_due_change(
    organisation: Organisation, subscription: Subscription, scheduled: ScheduledChange
) -> list[int]:
    """Whether the change scheduled for the end of the period can still be made as it
    was chosen: its day is the next period's first, it is still a change that could be
    made (``change_rules.change_refusal``, the rule of every change) at a price the catalogue
    has, and who keeps a seat still fits (``seats.leaving_when_due``). Returns who
    leaves; raises the domain error that stops it."""
    if scheduled.effective != subscription.period_end + timedelta(days=1):
        raise ScheduledChangeOutdated()
    to_plan = scheduled.to_plan
    refusal = change_refusal(
        subscription,
        to_plan,
        to_cycle=scheduled.to_cycle,
        seats_after=valid_seats(to_plan, scheduled.seats_after),
        new_price=list_price(
            to_plan, scheduled.to_cycle, scheduled.seats_after, subscription.currency
        ),
    )
    if refusal is not None:
        raise refusal
    return leaving_when_due(organisation, seats=scheduled.seats_after, kept=scheduled.keep_user_ids)


def _apply_due_change(
    organisation: Organisation,
    before: Subscription,
    after: Subscription,
    scheduled: ScheduledChange,
    leaving: list[int],
) -> None:
    """Make the scheduled change what it became: users without a seat deactivated (never
    deleted), a plan change of the new period's first day (no quote: nothing of the old
    period is left), the scheduled change applied, audited, and the customer told."""
    if leaving:
        with tenant_context(organisation):
            deactivate_for_seats(leaving, acting_user=None, organisation=organisation)
    change = PlanChange.objects.create(
        organisation=organisation,
        **terms_of(scheduled),
        currency=after.currency,
        changed_on=after.period_start,
        period_end=after.period_end,
        remaining_days=0,
        paid_daily_before=before.paid_daily,
        new_daily=after.paid_daily,
        refund_quote=Decimal(0),
        amount_due=Decimal(0),
        new_price=after.amount_paid,  # the new period's list price
        deactivated_user_ids=leaving,
        actor_kind=scheduled.actor_kind,
        actor_id=scheduled.actor_id,
        actor_email=scheduled.actor_email,
    )
    resolutions.resolve(
        organisation,
        scheduled,
        ScheduledChange.Status.APPLIED,
        acting_user=None,
        plan_change=change,
    )
    record(
        Action.PLAN_CHANGED,
        acting_user=None,
        organisation=organisation,
        target=change,
        before=snapshot(before),
        after={
            **snapshot(after),
            "kind": change.kind,
            "scheduled_change": scheduled.pk,
            "deactivated_user_ids": leaving,
        },
    )
    notices.tell_primary_contact(
        organisation, "scheduled_applied", scheduled=scheduled, language=scheduled.language
    )


def _set_aside(organisation: Organisation, scheduled: ScheduledChange, *, reason: str) -> None:
    """A scheduled change whose day came but that can no longer be made: kept as "not
    applied" with the reason, audited, and the customer told; the subscription renews as
    it is."""
    resolutions.resolve(
        organisation, scheduled, ScheduledChange.Status.NOT_APPLIED, acting_user=None, note=reason
    )
    notices.tell_primary_contact(
        organisation, "scheduled_not_applied", scheduled=scheduled, language=scheduled.language
    )
