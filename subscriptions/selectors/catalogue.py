"""Reads of the plan catalogue: plans, features, prices and the allowed transitions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.db.models import Q
from django.utils.translation import get_language

from portal.db.prepared import Prepared
from subscriptions.exceptions import (
    InvalidChoice,
    InvalidSeats,
    PriceMissing,
    SubscriptionError,
    TransitionNeedsStep,
    TransitionNotAllowed,
    UnknownFeature,
    UnknownPlan,
)
from subscriptions.models import (
    BillingCycle,
    Currency,
    Feature,
    FeedbackReason,
    Plan,
    PlanFeature,
    PlanPrice,
    PlanTransition,
    TransitionKind,
)
from subscriptions.models.catalogue import FREE_PLAN
from subscriptions.selectors.entitlements import (
    ENTITLEMENTS_CACHE_SECONDS,
    VALUE_COLUMNS,
    Entitlements,
    ValueRow,
)

# The five downgrades of the seed article; the catalogue may never lose one.
SEED_DOWNGRADES = frozenset(
    {
        ("enterprise", "professional"),
        ("professional", "standard"),
        ("enterprise", "free"),
        ("professional", "free"),
        ("standard", "free"),
    }
)

SEED_PLAN_CODES = frozenset(code for pair in SEED_DOWNGRADES for code in pair)


# Seats bought on a plan without a cap: at most this many.
MAX_SEATS = 10_000


def valid_seats(plan: Plan, seats: int) -> int:
    """``seats`` if the plan allows that many (1 to its cap), else ``InvalidSeats``."""
    cap = plan.seat_cap if plan.seat_cap is not None else MAX_SEATS
    if not 1 <= seats <= cap:
        raise InvalidSeats(cap=cap, plan=plan.name)
    return seats


def valid_choice(
    value: str, choices: type[BillingCycle] | type[Currency] | type[FeedbackReason], field: str
) -> str:
    """``value`` if it is one of ``choices``, else ``InvalidChoice`` naming them."""
    if value not in choices.values:
        raise InvalidChoice(value=value, field=field, choices=", ".join(choices.values))
    return value


def get_plan(code: str) -> Plan:
    wanted = (code or "").strip().lower()
    plan = None if "\x00" in wanted else Plan.objects.filter(code=wanted).first()
    if plan is None:
        codes = ", ".join(Plan.objects.values_list("code", flat=True))
        raise UnknownPlan(code=code, codes=codes)
    return plan


@dataclass(frozen=True)
class StarterPlan:
    """What a new organisation starts on (sign-up, ``create_organisation``'s default)."""

    name: str
    seats: int | None  # the plan's seat cap
    departments: int | None  # None: unlimited


def starter_plan(code: str = FREE_PLAN) -> StarterPlan:
    """The plan a sign-up starts on, in the active language, with its seats and
    departments (two queries)."""
    plan = get_plan(code)
    value = PlanFeature.objects.filter(plan=plan, feature__code="departments").first()
    departments = value.limit if value is not None and value.enabled else 0
    return StarterPlan(plan.name, plan.seat_cap, departments)


def get_feature(code: str) -> Feature:
    feature = Feature.objects.filter(code=code).first()
    if feature is None:
        raise UnknownFeature(code=code)
    return feature


def _plan_names_key(language: str) -> str:
    return f"plan-names:{language}"


def plan_names() -> dict[str, str]:
    """Each plan's name in the active language, by code: from the shared cache (staff's
    catalogue edits forget it: ``forget_catalogue``), else one query."""
    cache, key = caches["entitlements"], _plan_names_key(get_language())
    names: dict[str, str] | None = cache.get(key)
    if names is None:
        names = {plan.code: plan.name for plan in Plan.objects.all()}
        cache.set(key, names, ENTITLEMENTS_CACHE_SECONDS)
    return names


def forget_catalogue() -> None:
    """After a catalogue edit: the plan names, in every language, and the Store's catalogue
    (``store_catalogue``) are read afresh."""
    keys = [_plan_names_key(code) for code, _ in settings.LANGUAGES]
    caches["entitlements"].delete_many([*keys, _store_catalogue_key()])


# The Store's home asks on every visit (the next bill): its SQL is built once
# (portal/db/prepared.py).
_PRICE = Prepared(
    lambda plan, cycle, currency: PlanPrice.objects.filter(
        plan=plan, cycle=cycle, currency=currency
    )
)


def seat_rate(plan: Plan, cycle: str, currency: str) -> Decimal:
    """The plan's monthly price per seat for the cycle and currency (one query; one price
    at most: ``subscriptions_one_price_per_cycle``)."""
    try:
        price = _PRICE.get(plan=plan, cycle=cycle, currency=currency)
    except PlanPrice.DoesNotExist:
        raise PriceMissing(
            plan=plan.name, cycle=BillingCycle(cycle).label, currency=currency
        ) from None
    return price.per_seat_month


def seat_rates(cycle: str, currency: str) -> dict[int, Decimal]:
    """Every plan's monthly price per seat for the cycle and currency, by plan id; a
    plan without a price there is missing (one query)."""
    prices = PlanPrice.objects.filter(cycle=cycle, currency=currency)
    return dict(prices.values_list("plan_id", "per_seat_month"))


# A plan's value that makes the feature usable: a switch that is on, or a limit that is
# unlimited or above zero.
AVAILABLE = Q(enabled=True) & (
    Q(feature__kind=Feature.Kind.SWITCH) | Q(limit__isnull=True) | Q(limit__gt=0)
)


def lowest_plan_with(feature_code: str) -> Plan | None:
    """The cheapest plan on which the feature is available."""
    values = PlanFeature.objects.filter(AVAILABLE, feature__code=feature_code)
    row = values.select_related("plan").order_by("plan__rank").first()
    return row.plan if row else None


@dataclass(frozen=True)
class FeatureRow:
    """One line of the Features page: the feature, the organisation's value, and the
    lowest plan that has it."""

    feature: Feature
    available: bool
    limit: int | None
    unlocked_by: Plan | None


def feature_rows(entitlements: Entitlements) -> list[FeatureRow]:
    """Every feature with whether the organisation has it (two queries)."""
    features = list(Feature.objects.all())
    lowest: dict[str, Plan] = {}
    values = (
        PlanFeature.objects.filter(AVAILABLE)
        .select_related("plan", "feature")
        .order_by("-plan__rank")
    )
    for value in values:
        lowest[value.feature.code] = value.plan
    return [
        FeatureRow(
            feature=feature,
            available=entitlements.has(feature.code),
            limit=entitlements.limit(feature.code) if feature.kind == Feature.Kind.LIMIT else None,
            unlocked_by=lowest.get(feature.code),
        )
        for feature in features
    ]


@dataclass(frozen=True)
class Edge:
    """A move the transition table allows, with the plan it leads to."""

    to_plan: Plan
    from_plan_id: int
    to_plan_id: int
    kind: str


def transition_refusals(
    from_plan: Plan, to_plans: Iterable[Plan]
) -> dict[int, SubscriptionError | None]:
    """For each of ``to_plans`` (by id): None when the transition table allows the move
    from ``from_plan``, else the reason, naming the intermediate plan when two allowed
    steps lead there (one query, whatever the size of the catalogue)."""
    edges = [
        Edge(edge.to_plan, edge.from_plan_id, edge.to_plan_id, edge.kind)
        for edge in PlanTransition.objects.select_related("to_plan")
    ]
    return refusals_by_table(edges, from_plan, to_plans)


def refusals_by_table(
    edges: Iterable[Edge], from_plan: Plan, to_plans: Iterable[Plan]
) -> dict[int, SubscriptionError | None]:
    """``transition_refusals`` over the table's ``edges``, read already."""
    edges = list(edges)
    allowed = {(edge.from_plan_id, edge.to_plan_id) for edge in edges}
    # The highest plan one allowed downgrade away: the step a refusal suggests first.
    steps = sorted(
        (
            edge.to_plan
            for edge in edges
            if edge.from_plan_id == from_plan.pk and edge.kind == TransitionKind.DOWNGRADE
        ),
        key=lambda plan: -plan.rank,
    )
    refusals: dict[int, SubscriptionError | None] = {}
    for to_plan in to_plans:
        if (from_plan.pk, to_plan.pk) in allowed:
            refusals[to_plan.pk] = None
            continue
        step = next((plan for plan in steps if (plan.pk, to_plan.pk) in allowed), None)
        refusals[to_plan.pk] = (
            TransitionNeedsStep(from_plan=from_plan.name, to_plan=to_plan.name, step=step.name)
            if step is not None
            else TransitionNotAllowed(from_plan=from_plan.name, to_plan=to_plan.name)
        )
    return refusals


def transition_refusal(from_plan: Plan, to_plan: Plan) -> SubscriptionError | None:
    """None when the transition table allows the move, else the reason (one query)."""
    return transition_refusals(from_plan, [to_plan])[to_plan.pk]


@dataclass(frozen=True)
class TransitionMatrix:
    plans: list[Plan]
    rows: list[tuple[Plan, list[str]]]  # for each "from" plan, the kind towards each plan


def transition_matrix() -> TransitionMatrix:
    """The allowed transitions as a from x to grid (two queries)."""
    plans = list(Plan.objects.order_by("rank"))
    kinds = {(t.from_plan_id, t.to_plan_id): t.kind for t in PlanTransition.objects.all()}
    rows = [(row, [kinds.get((row.pk, col.pk), "") for col in plans]) for row in plans]
    return TransitionMatrix(plans, rows)


@dataclass(frozen=True)
class StoreCatalogue:
    """The catalogue as the Store's plan cards show it, the same for every organisation:
    the plans (by rank), the features (in their order), every monthly price per seat and
    the transition table."""

    plans: tuple[Plan, ...]
    features: tuple[Feature, ...]
    prices: tuple[tuple[int, str, str, Decimal], ...]  # plan id, cycle, currency, price
    transitions: tuple[tuple[int, int, str], ...]  # from plan id, to plan id, kind
    values: tuple[tuple[int, ValueRow], ...]  # plan id, and one of its features' values

    def plan_values(self) -> dict[int, list[ValueRow]]:
        """Each plan's feature values, by plan id (``entitlements_with``)."""
        by_plan: dict[int, list[ValueRow]] = {}
        for plan_id, row in self.values:
            by_plan.setdefault(plan_id, []).append(row)
        return by_plan

    def seat_rates(self, cycle: str, currency: str) -> dict[int, Decimal]:
        """As ``seat_rates``, without a query."""
        return {
            plan_id: price
            for plan_id, price_cycle, price_currency, price in self.prices
            if (price_cycle, price_currency) == (cycle, currency)
        }

    def transition_refusals(
        self, from_plan: Plan, to_plans: Iterable[Plan]
    ) -> dict[int, SubscriptionError | None]:
        """As ``transition_refusals``, without a query."""
        plans = {plan.pk: plan for plan in self.plans}
        edges = (
            Edge(plans[to_id], from_id, to_id, kind) for from_id, to_id, kind in self.transitions
        )
        return refusals_by_table(edges, from_plan, to_plans)


@cache
def _store_catalogue_key() -> str:
    """The key names the catalogue app's latest migration: a deploy that migrates the
    catalogue (a feature added by a data migration) reads it afresh; staff's edits forget
    it (``forget_catalogue``)."""
    migrations = Path(apps.get_app_config("subscriptions").path) / "migrations"
    return "store-catalogue:" + max(path.stem for path in migrations.glob("[0-9]*.py"))


def store_catalogue() -> StoreCatalogue:
    """The Store's catalogue, from the shared cache (the same for every organisation's
    cards), else five queries. What a change costs is not read here: its preview and the
    change itself read the prices and the transition table anew."""
    cache, key = caches["entitlements"], _store_catalogue_key()
    found: StoreCatalogue | None = cache.get(key)
    if found is None:
        found = StoreCatalogue(
            plans=tuple(Plan.objects.all()),
            features=tuple(Feature.objects.all()),
            prices=tuple(
                PlanPrice.objects.values_list("plan_id", "cycle", "currency", "per_seat_month")
            ),
            transitions=tuple(
                PlanTransition.objects.values_list("from_plan_id", "to_plan_id", "kind")
            ),
            values=tuple(
                (plan_id, (code, kind, enabled, limit))
                for plan_id, code, kind, enabled, limit in PlanFeature.objects.values_list(
                    "plan_id", *VALUE_COLUMNS
                )
            ),
        )
        cache.set(key, found, ENTITLEMENTS_CACHE_SECONDS)
    return found
