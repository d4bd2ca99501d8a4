"""Starting an organisation's subscription, and renewing periods that ended (within a
change, or for every subscription due: ``run_billing``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from portal.models import Organisation
from subscriptions import audit
from subscriptions.exceptions import InvalidChoice
from subscriptions.models import BillingCycle, Currency, Subscription
from subscriptions.selectors.catalogue import get_plan, valid_choice, valid_seats
from subscriptions.selectors.periods import list_price, renewals
from subscriptions.services import ledger
from subscriptions.services.guards import require_staff

logger = logging.getLogger(__name__)


def snapshot(subscription: Subscription) -> dict[str, Any]:
    """The subscription's plan and period as the audit log records them."""
    return {
        "plan": subscription.plan.code,
        "cycle": subscription.cycle,
        "seats": subscription.seats,
        "currency": subscription.currency,
        "period_start": subscription.period_start,
        "period_end": subscription.period_end,
        "amount_paid": subscription.amount_paid,
        "paid_daily": subscription.paid_daily,
    }


def start_subscription(
    organisation: Organisation,
    *,
    plan_code: str = "free",
    cycle: str = BillingCycle.MONTHLY,
    seats: int | None = None,
    currency: str = Currency.JPY,
    amount_paid: Decimal | None = None,
    acting_user: User | None = None,
    today: date | None = None,
) -> Subscription:
    """Put a new organisation on a plan with a period starting today. ``amount_paid``
    (default: the list price) is what was actually paid, discounts included."""
    require_staff(acting_user, "subscriptions.add_subscription")
    plan = get_plan(plan_code)
    valid_choice(cycle, BillingCycle, "billing cycle")
    valid_choice(currency, Currency, "currency")
    seats = valid_seats(plan, seats if seats is not None else (plan.seat_cap or 1))
    price = list_price(plan, cycle, seats, currency)
    paid = price if amount_paid is None else amount_paid
    if paid < 0:
        raise InvalidChoice(value=str(paid), field="amount paid", choices="≥ 0")
    day = today or timezone.localdate()
    with transaction.atomic():
        subscription = Subscription(
            organisation=organisation, plan=plan, cycle=cycle, seats=seats, currency=currency
        )
        subscription.billing_anchor = day
        subscription.begin_period(day, paid)
        subscription.save()
        ledger.book_period_charge(organisation, subscription)
        audit.record(
            audit.Action.SUBSCRIPTION_STARTED,
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
    ``today`` has reached at list price, each with its charge, audited. Returns the
    subscription as of today."""
    return _renew(organisation, subscription, renewals(subscription, today))


def _renew(
    organisation: Organisation, subscription: Subscription, periods: list[Subscription]
) -> Subscription:
    """Book and save ``periods`` (``selectors.periods.renewals``), audited."""
    if not periods:
        return subscription
    for period in periods:
        ledger.book_period_charge(organisation, period)
    current = periods[-1]
    before = snapshot(subscription)
    current.save(
        update_fields=["period_start", "period_end", "amount_paid", "upgrade_charges", "paid_value"]
    )
    audit.record(
        audit.Action.SUBSCRIPTION_RENEWED,
        acting_user=None,
        organisation=organisation,
        target=current,
        before=before,
        after=snapshot(current),
    )
    return current


@dataclass
class BillingRun:
    """What ``run_billing`` did: the subscriptions renewed (organisation slug and the
    periods started) and those that failed (slug and why)."""

    today: date
    renewed: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def run_billing(today: date | None = None) -> BillingRun:
    """Renew every subscription whose period ended before ``today``: each in its own
    transaction under its row lock, so that two runs at once renew each one once and a
    second run for the same day finds nothing. One organisation's failure is reported and
    does not stop the others. Work per subscription does not touch tenant schemas."""
    day = today or timezone.localdate()
    report = BillingRun(day)
    due = Subscription.objects.filter(period_end__lt=day).order_by("pk")
    for pk, slug in due.values_list("pk", "organisation__slug"):
        try:
            with transaction.atomic():
                # Lock the subscription row alone (not the plan or the organisation that
                # every other renewal joins), and skip it if another run renewed it.
                subscription = (
                    Subscription.objects.select_for_update(of=("self",))
                    .select_related("plan", "organisation")
                    .filter(pk=pk, period_end__lt=day)
                    .first()
                )
                if subscription is None:
                    continue
                periods = renewals(subscription, day)
                _renew(subscription.organisation, subscription, periods)
        except Exception as error:  # reported; the next organisation is still renewed
            logger.exception("Renewing %s failed", slug)
            report.failed.append((slug, str(error)))
        else:
            report.renewed.append((slug, len(periods)))
    return report
