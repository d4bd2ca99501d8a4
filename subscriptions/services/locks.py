"""The subscription's row lock, which every change of the subscription and every change
counted against the plan's limits (a user added, deactivated or reactivated, a department
added) takes first, so that they are serialised."""

from __future__ import annotations

from portal.models import Organisation
from subscriptions.exceptions import NoSubscription
from subscriptions.models import Subscription
from subscriptions.selectors.entitlements import forget_subscription


def locked_subscription(organisation: Organisation) -> Subscription:
    """The organisation's subscription, its row locked until the transaction ends: every
    change of the subscription takes this lock first, so changes are serialised."""
    # Lock the row alone: with a join, PostgreSQL re-checks a row updated while we
    # waited against the old joined plan row and would drop it from the result.
    subscription = (
        Subscription.objects.select_for_update().filter(organisation=organisation).first()
    )
    if subscription is None:
        raise NoSubscription(organisation=organisation)
    return subscription


def lock_subscription(organisation: Organisation) -> None:
    """Before a change counted against the plan's limits (a user added, deactivated or
    reactivated, a department added): lock the subscription row, as every plan change
    does first, so that these checks, plan changes and the count of seats in use are
    serialised. What the request read of the subscription before is forgotten: the
    checks then see a plan change that committed while this waited for the lock."""
    Subscription.objects.select_for_update().filter(organisation=organisation).first()
    forget_subscription(organisation)
