"""What an organisation may use: ``entitlements_for`` is the one answer to "may this
organisation use X", and ``entitlements_on`` answers the same for other plans (the Store's
offers and a plan change's preview), so both compute "gained / no longer available" alike.
Usage against the limits is counted here too."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.cache import caches
from django.db.models import BigIntegerField, Q, QuerySet, Value
from django_tenants.utils import tenant_context

from accounts.selectors import count_active_users, count_departments
from portal import clock
from portal.db.prepared import Prepared
from portal.models import Organisation
from subscriptions.exceptions import NoSubscription
from subscriptions.models import EntitlementOverride, Feature, Plan, PlanFeature, Subscription

ENTITLEMENTS_CACHE_SECONDS = 6 * 3600
# The shape of what the cache holds: raised when ``Entitlements`` changes, so that a new
# release never reads what an older one wrote.
ENTITLEMENTS_CACHE_VERSION = 2

# Limits whose objects exist in the portal, counted in the organisation's schema. To gate
# a new kind of object by a limit, add its counter here (docs/architecture.md).
USAGE_COUNTERS: dict[str, Callable[[], int]] = {
    "departments": count_departments,
}

# (feature code, feature kind, enabled, limit): a plan's value or an override.
ValueRow = tuple[str, str, bool, int | None]
VALUE_COLUMNS = ("feature__code", "feature__kind", "enabled", "limit")


@dataclass(frozen=True)
class Entitlements:
    """What an organisation may use: its plan's values, raised by active overrides.
    Immutable; every check is a dictionary look-up."""

    plan: Plan
    seats: int
    switches: frozenset[str]
    limit_values: tuple[tuple[str, int | None], ...]
    # The organisation's overrides active that day, as they raised the plan's values: what
    # another plan's values would be raised by (``entitlements_with``).
    overrides: tuple[ValueRow, ...] = field(default=(), compare=False)
    _limits: dict[str, int | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_limits", dict(self.limit_values))

    def has(self, feature_code: str) -> bool:
        """A switch that is on, or a limit above zero (or unlimited)."""
        if feature_code in self._limits:
            value = self._limits[feature_code]
            return value is None or value > 0
        return feature_code in self.switches

    def limit(self, feature_code: str) -> int | None:
        """The limit; None means unlimited; 0 when the plan does not have it."""
        return self._limits.get(feature_code, 0)

    def allows(self, feature_code: str, count: int) -> bool:
        """Whether ``count`` objects fit within the limit."""
        value = self.limit(feature_code)
        return value is None or count <= value


@dataclass(frozen=True)
class FeatureChanges:
    """What moving from one set of entitlements to another gains and loses."""

    gained: tuple[Feature, ...]
    lost: tuple[Feature, ...]


def feature_changes(
    before: Entitlements, after: Entitlements, features: Iterable[Feature]
) -> FeatureChanges:
    """The features ``after`` has and ``before`` lacks, and the other way round."""
    features = list(features)
    return FeatureChanges(
        gained=tuple(f for f in features if after.has(f.code) and not before.has(f.code)),
        lost=tuple(f for f in features if before.has(f.code) and not after.has(f.code)),
    )


def _higher(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


def _combine(
    plan: Plan, seats: int, plan_values: Iterable[ValueRow], overrides: Sequence[ValueRow]
) -> Entitlements:
    """The plan's values raised by the overrides: a switch is on if any row turns it on; a
    limit is the highest of its rows (None, unlimited, wins)."""
    switches: set[str] = set()
    limits: dict[str, int | None] = {}
    for code, kind, enabled, limit in [*plan_values, *overrides]:
        if kind == Feature.Kind.SWITCH:
            if enabled:
                switches.add(code)
            continue
        value = limit if enabled else 0
        limits[code] = _higher(limits[code], value) if code in limits else value
    return Entitlements(
        plan=plan,
        seats=seats,
        switches=frozenset(switches),
        limit_values=tuple(sorted(limits.items())),
        overrides=tuple(overrides),
    )


def _value_rows(plans: Q, organisation: int, today: date) -> QuerySet[Any]:
    """The values of the plans ``plans`` selects, with their plan's id, and the
    organisation's overrides active on ``today``, with None: one query (a UNION)."""
    plan_values = PlanFeature.objects.filter(plans)
    overrides = EntitlementOverride.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today),
        organisation_id=organisation,
        revoked_at__isnull=True,
    ).annotate(any_plan=Value(None, output_field=BigIntegerField()), granted=Value(True))
    return plan_values.values_list("plan_id", *VALUE_COLUMNS).union(
        overrides.values_list("any_plan", "feature__code", "feature__kind", "granted", "limit"),
        all=True,
    )


def _combined(
    plans: Sequence[tuple[Plan, int]], rows: Iterable[tuple[Any, ...]]
) -> list[Entitlements]:
    """For each (plan, seats): the plan's values raised by the overrides in ``rows``."""
    values: dict[int | None, list[ValueRow]] = {None: []}
    for plan_id, code, kind, enabled, limit in rows:
        values.setdefault(plan_id, []).append((code, kind, enabled, limit))
    return [_combine(plan, seats, values.get(plan.pk, []), values[None]) for plan, seats in plans]


def _entitlements(
    organisation_id: int, plans: Sequence[tuple[Plan, int]], today: date
) -> list[Entitlements]:
    """For each (plan, seats): the plan's values raised by the organisation's overrides
    active on ``today``. One query."""
    plan_ids = Q(plan_id__in={plan.pk for plan, _ in plans})
    return _combined(plans, _value_rows(plan_ids, organisation_id, today))


# An organisation's own entitlements, computed on every page whose organisation the
# shared cache has not seen today (most of them, with traffic spread over many): the
# query's SQL is built once (portal/db/prepared.py).
_OWN_VALUE_ROWS = Prepared(
    lambda plan, organisation, today: _value_rows(Q(plan=plan), organisation, today)
)


def compute_entitlements(subscription: Subscription, today: date) -> Entitlements:
    """From the catalogue: the subscription's plan values and the organisation's active
    overrides, in one query."""
    plan_and_seats = [(subscription.plan, subscription.seats)]
    rows = _OWN_VALUE_ROWS.rows(
        plan=subscription.plan_id, organisation=subscription.organisation_id, today=today
    )
    return _combined(plan_and_seats, rows)[0]


def entitlements_on(
    organisation: Organisation,
    plans: Sequence[tuple[Plan, int]],
    *,
    today: date | None = None,
) -> list[Entitlements]:
    """What the organisation would have on each (plan, seats), computed as its own
    entitlements are (overrides included): the Store's offers and a plan change's
    preview both ask here. One query whatever the number of plans."""
    return _entitlements(organisation.pk, plans, today or clock.today(organisation))


def entitlements_with(
    current: Entitlements,
    plans: Sequence[tuple[Plan, int]],
    plan_values: Mapping[int, Sequence[ValueRow]],
) -> list[Entitlements]:
    """What ``entitlements_on`` computes, from what is at hand instead of a query: the
    plans' values (the Store's catalogue) raised by the overrides the organisation's
    ``current`` entitlements hold (active on the day they were computed for)."""
    return [
        _combine(plan, seats, plan_values.get(plan.pk, ()), current.overrides)
        for plan, seats in plans
    ]


# Every page of an organisation reads it: its SQL is built once (portal/db/prepared.py).
_SUBSCRIPTION_WITH_PLAN = Prepared(
    lambda organisation: Subscription.objects.select_related("plan").filter(
        organisation=organisation
    )
)


def subscription_of(organisation: Organisation) -> Subscription:
    """The organisation's subscription with its plan: one query the first time in a
    request, then kept on the organisation."""
    if Organisation.subscription.is_cached(organisation):
        subscription: Subscription = organisation.subscription
        if "plan" in subscription._state.fields_cache:
            return subscription
    try:
        found = _SUBSCRIPTION_WITH_PLAN.get(organisation=organisation)
    except Subscription.DoesNotExist:
        raise NoSubscription(organisation=organisation) from None
    organisation.subscription = found
    return found


def entitlements_for(organisation: Organisation, *, today: date | None = None) -> Entitlements:
    """The organisation's entitlements: at most one query per request, none when the
    shared cache is warm. The cache key carries the subscription's ``stamp`` (new with
    every plan change, override and catalogue edit) and the day (overrides end by date),
    so no process serves stale entitlements."""
    memo = organisation.__dict__.get("_entitlements")
    if memo is not None:
        return memo
    day = today or clock.today(organisation)
    subscription = subscription_of(organisation)
    key = f"org{organisation.pk}:{subscription.stamp.hex}:{day.isoformat()}"
    cache = caches["entitlements"]
    entitlements = cache.get(key, version=ENTITLEMENTS_CACHE_VERSION)
    if entitlements is None:
        entitlements = compute_entitlements(subscription, day)
        cache.set(key, entitlements, ENTITLEMENTS_CACHE_SECONDS, version=ENTITLEMENTS_CACHE_VERSION)
    organisation.__dict__["_entitlements"] = entitlements
    return entitlements


def forget_entitlements(organisation: Organisation) -> None:
    """Drop the per-request memo after a change in this request."""
    organisation.__dict__.pop("_entitlements", None)


def forget_subscription(organisation: Organisation) -> None:
    """Drop what this request read of the subscription (its row and the memo), so that
    the next read, made under the subscription's row lock, sees the latest change."""
    forget_entitlements(organisation)
    if Organisation.subscription.is_cached(organisation):
        del organisation._state.fields_cache[Organisation.subscription.related.cache_name]


def usage_of(organisation: Organisation) -> dict[str, int]:
    """How many objects of each counted limit the organisation has (hidden ones too),
    and its active users under "seats"."""
    with tenant_context(organisation):
        usage = {code: count() for code, count in USAGE_COUNTERS.items()}
        usage["seats"] = count_active_users()
    return usage


def seats_in_use(organisation: Organisation) -> int:
    """Active users occupy seats, whatever their role: the count the public schema keeps
    (``Subscription.seats_in_use``, written with every change of who is active)."""
    return subscription_of(organisation).seats_in_use
