"""Whether a change of plan, cycle or seats may be made, and what kind it is: the one rule
for a change made now, one scheduled, the one a renewal applies when its day comes, and the
Store's cards (``previews`` builds the preview and the offers from it)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.formats import date_format

from subscriptions.exceptions import (
    ClosureScheduled,
    NothingToBill,
    PastDue,
    SamePlan,
    SeatsAgainstTheChange,
    SubscriptionError,
)
from subscriptions.models import ChangeKind, Plan, Subscription
from subscriptions.selectors.catalogue import MAX_SEATS, transition_refusal


def change_kind(
    subscription: Subscription,
    to_plan: Plan,
    to_cycle: str | None = None,
) -> str:
    """Upgrade or downgrade by the plans' ranks. On the same plan: a change of billing
    cycle (``to_cycle``, when it differs), else of seats. During a trial, a paid plan (the
    one tried included) is chosen: "subscribe"."""
    if subscription.on_trial and not to_plan.is_free:
        return ChangeKind.SUBSCRIBE
    if to_plan.pk == subscription.plan_id:
        if to_cycle is not None and to_cycle != subscription.cycle:
            return ChangeKind.CYCLE
        return ChangeKind.SEATS
    return ChangeKind.UPGRADE if to_plan.rank > subscription.plan.rank else ChangeKind.DOWNGRADE


def default_seats(subscription: Subscription, to_plan: Plan) -> int:
    """The seats a change to ``to_plan`` keeps unless told otherwise: the seats bought
    now on the same plan or a plan without a cap, else the plan's cap (Free: 3)."""
    if to_plan.pk == subscription.plan_id or to_plan.seat_cap is None:
        return subscription.seats
    return to_plan.seat_cap


def seat_range(subscription: Subscription, to_plan: Plan, *, kind: str) -> tuple[int, int]:
    """The fewest and most seats a change to ``to_plan`` may have: 1 to the plan's cap.
    Seats bought on a paid plan move with the plan: a downgrade does not add any (they
    would never be charged) and an upgrade does not remove any (they would never be
    refunded)."""
    low, high = 1, to_plan.seat_cap if to_plan.seat_cap is not None else MAX_SEATS
    if kind == ChangeKind.SUBSCRIBE:  # nothing was bought during the trial
        return low, high
    if subscription.plan.seat_cap is None and to_plan.seat_cap is None:
        if kind == ChangeKind.DOWNGRADE:
            high = min(high, subscription.seats)
        elif kind == ChangeKind.UPGRADE:
            low = max(low, subscription.seats)
    return low, high


def change_refusal(
    subscription: Subscription,
    to_plan: Plan,
    *,
    to_cycle: str,
    seats_after: int,
    new_price: Decimal,
    transitions: dict[int, SubscriptionError | None] | None = None,
) -> SubscriptionError | None:
    """Why ``subscription`` may not change to ``to_plan``, ``to_cycle`` and
    ``seats_after`` (one period of which costs ``new_price``, tax-exclusive), or None: the
    one rule for a change made now, one scheduled, the one a renewal applies when its day
    comes, and the Store's cards. A cycle switch must have something to bill, a change of
    seats must change them, the transition table must allow a move to another plan, and
    seats move with the plan (``seat_range``). While past due (its renewal unpaid), only
    Free may be chosen, and while a closure waits. ``transitions``: the table's answers for
    many plans at once (``transition_refusals``), else it is read for this one."""
    if subscription.past_due_since is not None and not to_plan.is_free:
        return PastDue(date=date_format(subscription.past_due_since, "DATE_FORMAT"))
    if subscription.closes_on is not None and not to_plan.is_free:
        # Only the move to Free that closing now makes: cancel the closure to change plan.
        return ClosureScheduled(date=date_format(subscription.closes_on, "DATE_FORMAT"))
    kind = change_kind(subscription, to_plan, to_cycle)
    if kind == ChangeKind.CYCLE and new_price == 0:
        return NothingToBill(plan=to_plan.name)
    if kind == ChangeKind.SEATS and seats_after == subscription.seats:
        return SamePlan(plan=to_plan.name)
    if kind in (ChangeKind.CYCLE, ChangeKind.SEATS, ChangeKind.SUBSCRIBE):
        refusal = None  # a trial may end on any paid plan: none of them was paid for
    elif transitions is not None:
        refusal = transitions[to_plan.pk]
    else:
        refusal = transition_refusal(subscription.plan, to_plan)
    low, high = seat_range(subscription, to_plan, kind=kind)
    if refusal is None and not low <= seats_after <= high:
        return SeatsAgainstTheChange(plan=to_plan.name, seats=subscription.seats)
    return refusal
