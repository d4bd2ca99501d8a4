"""The Store's plan cards: every other plan with the price, seats, limits and refusal the
preview of that change would compute (``change_rules``), in a handful of queries whatever the
catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.models import Organisation
from subscriptions.exceptions import PriceMissing, SubscriptionError
from subscriptions.models import BillingCycle, Feature, Plan
from subscriptions.proration import cycle_price
from subscriptions.selectors.catalogue import store_catalogue
from subscriptions.selectors.change_rules import change_kind, change_refusal, default_seats
from subscriptions.selectors.entitlements import (
    entitlements_for,
    entitlements_with,
    feature_changes,
    subscription_of,
)


@dataclass(frozen=True)
class PlanOffer:
    """A plan as the Store shows it to an organisation: its price for the
    organisation's cycle and seats, what it includes, and what changes."""

    plan: Plan
    kind: str
    refusal: SubscriptionError | None
    price: Decimal
    currency: str
    cycle: str
    seats: int
    limits: tuple[tuple[Feature, int | None], ...]
    gained: tuple[Feature, ...]
    lost: tuple[Feature, ...]

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def store_offers(organisation: Organisation) -> list[PlanOffer]:
    """Every other plan (during a trial, every plan: the one tried may be chosen too), for
    the Store: with the seats, price and entitlements the preview of that change would
    compute: from the shared cache (the catalogue, and the organisation's entitlements with
    its overrides), no query beyond the subscription."""
    subscription = subscription_of(organisation)
    current = entitlements_for(organisation)
    catalogue = store_catalogue()
    features = catalogue.features
    rates = catalogue.seat_rates(subscription.cycle, subscription.currency)
    targets = [
        (plan, default_seats(subscription, plan))
        for plan in catalogue.plans
        if subscription.on_trial or plan.pk != subscription.plan_id
    ]
    refusals = catalogue.transition_refusals(subscription.plan, [plan for plan, _ in targets])
    offers = []
    afters = entitlements_with(current, targets, catalogue.plan_values())
    for (plan, seats), after in zip(targets, afters, strict=True):
        changes = feature_changes(current, after, features)
        price = cycle_price(rates.get(plan.pk, Decimal(0)), seats, subscription.cycle)
        refusal = (
            change_refusal(
                subscription,
                plan,
                to_cycle=subscription.cycle,
                seats_after=seats,
                new_price=price,
                transitions=refusals,
            )
            if plan.pk in rates
            else PriceMissing(
                plan=plan.name,
                cycle=BillingCycle(subscription.cycle).label,
                currency=subscription.currency,
            )
        )
        offers.append(
            PlanOffer(
                plan=plan,
                kind=change_kind(subscription, plan),
                refusal=refusal,
                price=price,
                currency=subscription.currency,
                cycle=subscription.cycle,
                seats=seats,
                limits=tuple(
                    (feature, after.limit(feature.code))
                    for feature in features
                    if feature.kind == Feature.Kind.LIMIT
                ),
                gained=changes.gained,
                lost=changes.lost,
            )
        )
    return offers
