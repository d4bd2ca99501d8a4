"""Closing an organisation now (its primary contact in the Store, staff, ``manage.py
close_organisation --now``): a paid plan moves to Free first by the seed's rules (nothing
deleted, who keeps a seat by ``seats.kept_by_rule``), its refund quote requested for the
customer who closes (staff pay it from the refund queue), then it is closed
(``closures.close``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from accounts.models import User
from portal import clock
from portal.models import Organisation
from subscriptions.models import PlanChange, RefundRequest
from subscriptions.models.catalogue import FREE_PLAN
from subscriptions.selectors.catalogue import get_plan
from subscriptions.selectors.entitlements import subscription_of
from subscriptions.services import closures, refunds
from subscriptions.services.guards import is_vendor_staff
from subscriptions.services.locks import locked_subscription
from subscriptions.services.plan_changes import change_plan
from subscriptions.services.seats import kept_by_rule


@dataclass(frozen=True)
class Closed:
    """What closing now did: the move to Free (None on Free already) and the refund
    requested for its quote (None when there is nothing to refund, or staff closed)."""

    change: PlanChange | None
    refund: RefundRequest | None


def close_now(
    organisation: Organisation, *, acting_user: User | None, today: date | None = None
) -> Closed:
    """Close the organisation today. Each step commits on its own (the move to Free is a
    plan change, which is durable); run again after a failure, it goes on from there."""
    closures.require_closer(organisation, acting_user)
    closures.refuse_if_closed(organisation)
    day = today or clock.today(organisation)
    change = refund = None
    if not subscription_of(organisation).plan.is_free:
        keep = kept_by_rule(organisation, seats=get_plan(FREE_PLAN).seat_cap or 1)
        change = change_plan(
            organisation, FREE_PLAN, acting_user=acting_user, keep_user_ids=keep or None, today=day
        )
        customer = acting_user is not None and not is_vendor_staff(acting_user)
        if change.refund_quote > 0 and customer:
            refund = refunds.request_refund(change, acting_user=acting_user, today=day)
    with transaction.atomic():
        subscription = locked_subscription(organisation)
        closures.cancel_scheduled_change(organisation, acting_user=acting_user)
        closures.close(organisation, subscription, day, acting_user=acting_user)
    return Closed(change, refund)
