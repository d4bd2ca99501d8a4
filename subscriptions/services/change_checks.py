"""What every change of the plan checks first, under the subscription's lock, whether it
is made now (``plan_changes``) or at the end of the period (``scheduled_changes``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from accounts.models import User
from portal.models import Organisation
from subscriptions.exceptions import NotSchedulable, QuoteChanged, TrialChangesNow
from subscriptions.models import Plan, Subscription
from subscriptions.selectors.previews import PlanChangePreview, build_preview
from subscriptions.services.closures import refuse_if_closed
from subscriptions.services.guards import require_subscription_manager
from subscriptions.services.seats import leaving_users
from subscriptions.services.subscription import renew_if_due


@dataclass(frozen=True)
class CheckedChange:
    """A change that may be made: its preview, and the active users it leaves without a
    seat (none when everyone fits)."""

    preview: PlanChangePreview
    leaving: list[int]


def check_change(
    organisation: Organisation,
    subscription: Subscription,
    to_plan: Plan,
    *,
    acting_user: User | None,
    cycle: str | None,
    seats: int | None,
    keep_user_ids: Iterable[int] | None,
    today: date,
    promise: str | None = None,
    at_period_end: bool = False,
) -> CheckedChange:
    """With ``subscription`` locked (``locks.locked_subscription``): the actor may manage
    the subscription, the periods that ended are renewed (the only write), the change is
    previewed as of ``today`` and allowed (``at_period_end``: and may wait for the end of
    the period, ``PlanChangePreview.schedulable``), its figures are still the ones
    confirmed (``promise``: the ``PlanChangePreview.promise`` the confirmer saw;
    ``QuoteChanged`` otherwise, and the caller's transaction rolls the renewal back), and
    who keeps a seat follows the rules (``seats.leaving_users``). Raises the domain error
    that refuses it, in that order."""
    require_subscription_manager(organisation, acting_user)
    subscription = renew_if_due(organisation, subscription, today)
    preview = build_preview(
        organisation,
        subscription=subscription,
        to_plan=to_plan,
        cycle=cycle,
        seats=seats,
        today=today,
    )
    refuse_if_closed(organisation)
    if preview.refusal is not None:
        raise preview.refusal
    if at_period_end and not preview.schedulable:
        raise TrialChangesNow() if preview.subscription.on_trial else NotSchedulable()
    if promise is not None and promise != preview.promise:
        raise QuoteChanged()
    if not preview.seats_over:
        return CheckedChange(preview, [])
    leaving = leaving_users(
        organisation,
        plan_name=to_plan.name,
        seats=preview.seats_after,
        keep_user_ids=keep_user_ids,
        acting_user=acting_user,
    )
    return CheckedChange(preview, leaving)
