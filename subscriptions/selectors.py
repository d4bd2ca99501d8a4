"""Reads about plans, entitlements and subscriptions, shared by views, commands and
services. ``entitlements_for`` is the one answer to "may this organisation use X"."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.cache import caches
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.models import Department, User
from portal.models import Organisation
from subscriptions.exceptions import (
    NoSubscription,
    PriceMissing,
    SubscriptionError,
    TransitionNeedsStep,
    TransitionNotAllowed,
    UnknownFeature,
    UnknownPlan,
)
from subscriptions.models import (
    AuditEvent,
    BillingCycle,
    EntitlementOverride,
    Feature,
    FeedbackReason,
    Plan,
    PlanChange,
    PlanFeature,
    PlanPrice,
    PlanTransition,
    RefundRequest,
    RefundStatus,
    Subscription,
    TransitionKind,
)
from subscriptions.proration import MONTHS_IN_CYCLE

ENTITLEMENTS_CACHE_SECONDS = 6 * 3600

# Limits whose objects exist in the portal, counted in the organisation's schema. To gate
# a new kind of object by a limit, add its counter here (docs/architecture.md).
USAGE_COUNTERS: dict[str, Callable[[], int]] = {
    "departments": Department.objects.count,
}


@dataclass(frozen=True)
class Entitlements:
    """What an organisation may use now: its plan's values, raised by active overrides.
    Immutable; every check is a dictionary look-up."""

    plan: Plan
    seats: int
    switches: frozenset[str]
    limit_values: tuple[tuple[str, int | None], ...]
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


def _higher(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


def compute_entitlements(subscription: Subscription, today: date) -> Entitlements:
    """From the catalogue: the plan's values and the active overrides, in one query."""
    plan_values = PlanFeature.objects.filter(plan_id=subscription.plan_id).values_list(
        "feature__code", "feature__kind", "enabled", "limit"
    )
    overrides = (
        EntitlementOverride.objects.filter(
            organisation_id=subscription.organisation_id, revoked_at__isnull=True
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .annotate(granted=Value(True))
        .values_list("feature__code", "feature__kind", "granted", "limit")
    )
    switches: set[str] = set()
    limits: dict[str, int | None] = {}
    for code, kind, enabled, limit in plan_values.union(overrides, all=True):
        if kind == Feature.Kind.SWITCH:
            if enabled:
                switches.add(code)
            continue
        value = limit if enabled else 0
        limits[code] = _higher(limits[code], value) if code in limits else value
    return Entitlements(
        plan=subscription.plan,
        seats=subscription.seats,
        switches=frozenset(switches),
        limit_values=tuple(sorted(limits.items())),
    )


def subscription_of(organisation: Organisation) -> Subscription:
    """The organisation's subscription with its plan (no query when the middleware
    loaded them with the organisation)."""
    try:
        subscription: Subscription = organisation.subscription
    except Subscription.DoesNotExist:
        raise NoSubscription(organisation=organisation) from None
    if "plan" not in subscription._state.fields_cache:
        subscription = Subscription.objects.select_related("plan").get(pk=subscription.pk)
    return subscription


def entitlements_for(organisation: Organisation, *, today: date | None = None) -> Entitlements:
    """The organisation's entitlements: at most one query per request, none when the
    shared cache is warm. The cache key carries the subscription's ``updated_at`` (set by
    every plan change, override and catalogue edit) and the day (overrides end by date),
    so no process serves stale entitlements."""
    memo = organisation.__dict__.get("_entitlements")
    if memo is not None:
        return memo
    day = today or timezone.localdate()
    subscription = subscription_of(organisation)
    stamp = subscription.updated_at.timestamp()
    key = f"org{organisation.pk}:{stamp}:{day.isoformat()}"
    cache = caches["entitlements"]
    entitlements = cache.get(key)
    if entitlements is None:
        entitlements = compute_entitlements(subscription, day)
        cache.set(key, entitlements, ENTITLEMENTS_CACHE_SECONDS)
    organisation.__dict__["_entitlements"] = entitlements
    return entitlements


def forget_entitlements(organisation: Organisation) -> None:
    """Drop the per-request memo after a change in this request."""
    organisation.__dict__.pop("_entitlements", None)


def get_plan(code: str) -> Plan:
    plan = Plan.objects.filter(code=(code or "").strip().lower()).first()
    if plan is None:
        codes = ", ".join(Plan.objects.values_list("code", flat=True))
        raise UnknownPlan(code=code, codes=codes)
    return plan


def get_feature(code: str) -> Feature:
    feature = Feature.objects.filter(code=code).first()
    if feature is None:
        raise UnknownFeature(code=code)
    return feature


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


def transition_refusal(from_plan: Plan, to_plan: Plan) -> SubscriptionError | None:
    """None when the transition table allows the move, else the reason (naming the
    intermediate plan when two allowed steps lead there)."""
    if PlanTransition.objects.filter(from_plan=from_plan, to_plan=to_plan).exists():
        return None
    step = (
        PlanTransition.objects.filter(
            from_plan=from_plan,
            kind=TransitionKind.DOWNGRADE,
            to_plan__transitions_out__to_plan=to_plan,
        )
        .select_related("to_plan")
        .order_by("-to_plan__rank")
        .first()
    )
    if step is not None:
        return TransitionNeedsStep(
            from_plan=from_plan.name, to_plan=to_plan.name, step=step.to_plan.name
        )
    return TransitionNotAllowed(from_plan=from_plan.name, to_plan=to_plan.name)


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


def usage_of(organisation: Organisation) -> dict[str, int]:
    """How many objects of each counted limit the organisation has (hidden ones too),
    and its active users under "seats"."""
    with schema_context(organisation.schema_name):
        usage = {code: count() for code, count in USAGE_COUNTERS.items()}
        usage["seats"] = User.objects.filter(is_active=True).count()
    return usage


def seats_in_use(organisation: Organisation) -> int:
    """Active users occupy seats, whatever their role."""
    with schema_context(organisation.schema_name):
        return User.objects.filter(is_active=True).count()


def active_seat_counts(organisations: Iterable[Organisation]) -> dict[int, int]:
    """Seats in use for many organisations in one query (a UNION over their schemas)."""
    organisations = list(organisations)
    if not organisations:
        return {}
    quote = connection.ops.quote_name
    parts = [
        f"SELECT {int(org.pk)} AS organisation_id, COUNT(*) AS used "
        f"FROM {quote(org.schema_name)}.{quote(User._meta.db_table)} WHERE is_active"
        for org in organisations
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return {organisation_id: used for organisation_id, used in cursor.fetchall()}


def subscriptions_overview(plan_code: str | None = None) -> list[dict[str, Any]]:
    """One row per organisation (plan, cycle, seats used/licensed, period end): two
    queries whatever the number of organisations."""
    subscriptions = Subscription.objects.select_related("organisation", "plan").order_by(
        "organisation__slug"
    )
    if plan_code:
        subscriptions = subscriptions.filter(plan__code=plan_code)
    rows = list(subscriptions)
    used = active_seat_counts(row.organisation for row in rows)
    return [
        {
            "organisation": row.organisation.slug,
            "name": row.organisation.name,
            "plan": row.plan.code,
            "cycle": row.cycle,
            "seats_used": used.get(row.organisation_id, 0),
            "seats_licensed": row.seats,
            "currency": row.currency,
            "period_end": row.period_end,
        }
        for row in rows
    ]


@dataclass(frozen=True)
class PlanOffer:
    """A plan as the Store shows it to an organisation: its price for the
    organisation's cycle and seats, what it includes, and what changes."""

    plan: Plan
    kind: str
    refusal: Any
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
    """Every other plan, for the Store (a handful of queries whatever the catalogue)."""
    subscription = subscription_of(organisation)
    current = entitlements_for(organisation)
    features = list(Feature.objects.all())
    values: dict[tuple[int, str], PlanFeature] = {
        (value.plan_id, value.feature.code): value
        for value in PlanFeature.objects.select_related("feature")
    }
    prices = {
        price.plan_id: price.per_seat_month
        for price in PlanPrice.objects.filter(
            cycle=subscription.cycle, currency=subscription.currency
        )
    }
    offers = []
    for plan in Plan.objects.exclude(pk=subscription.plan_id):
        seats = plan.seat_cap if plan.seat_cap is not None else subscription.seats

        def value_of(feature: Feature, plan: Plan = plan) -> tuple[bool, int | None]:
            row = values.get((plan.pk, feature.code))
            if row is None or not row.enabled:
                return False, 0
            return True, row.limit

        def has(feature: Feature, plan: Plan = plan) -> bool:
            enabled, limit = value_of(feature, plan)
            return enabled and (feature.kind == Feature.Kind.SWITCH or limit is None or limit > 0)

        offers.append(
            PlanOffer(
                plan=plan,
                kind="upgrade" if plan.rank > subscription.plan.rank else "downgrade",
                refusal=transition_refusal(subscription.plan, plan)
                or (
                    None
                    if plan.pk in prices
                    else PriceMissing(
                        plan=plan.name,
                        cycle=BillingCycle(subscription.cycle).label,
                        currency=subscription.currency,
                    )
                ),
                price=prices.get(plan.pk, Decimal(0)) * seats * MONTHS_IN_CYCLE[subscription.cycle],
                currency=subscription.currency,
                cycle=subscription.cycle,
                seats=seats,
                limits=tuple(
                    (feature, value_of(feature)[1] if has(feature) else 0)
                    for feature in features
                    if feature.kind == Feature.Kind.LIMIT
                ),
                gained=tuple(f for f in features if has(f) and not current.has(f.code)),
                lost=tuple(f for f in features if current.has(f.code) and not has(f)),
            )
        )
    return offers


def plan_changes_of(organisation: Organisation) -> QuerySet[PlanChange]:
    return PlanChange.objects.filter(organisation=organisation).select_related(
        "from_plan", "to_plan", "refund_request"
    )


def refund_requests_of(organisation: Organisation) -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(organisation=organisation).select_related(
        "plan_change__from_plan", "plan_change__to_plan"
    )


SUBSCRIPTION_ACTIONS = ("plan.", "refund.", "subscription.", "override.", "user.seat_deactivated")


@dataclass(frozen=True)
class TimelineEntry:
    event: AuditEvent
    text: str


def _event_text(event: AuditEvent, plan_names: dict[str, str]) -> str:
    before, after = event.before or {}, event.after or {}
    status = {code: str(label) for code, label in RefundStatus.choices}

    def plan(data: dict[str, Any]) -> str:
        code = str(data.get("plan", ""))
        return plan_names.get(code, code)

    texts = {
        "plan.changed": lambda: (
            _("Plan changed from %(from)s to %(to)s")
            % {
                "from": plan(before),
                "to": plan(after),
            }
        ),
        "plan.feedback_shared": lambda: _("Feedback shared"),
        "subscription.started": lambda: (
            _("Subscription started on the %(plan)s plan") % {"plan": plan(after)}
        ),
        "subscription.renewed": lambda: _("Billing period renewed"),
        "refund.requested": lambda: _("Prorated refund requested"),
        "override.granted": lambda: (
            _("Extra entitlement granted: %(feature)s") % {"feature": after.get("feature")}
        ),
        "override.revoked": lambda: (
            _("Extra entitlement ended: %(feature)s") % {"feature": before.get("feature")}
        ),
        "user.seat_deactivated": lambda: _("A user was deactivated to fit the plan's seats"),
    }
    if event.action in texts:
        return str(texts[event.action]())
    if event.action.startswith("refund."):
        return _("Refund request: %(status)s") % {
            "status": status.get(str(after.get("status")), "")
        }
    return event.action


def subscription_timeline(organisation: Organisation, limit: int = 50) -> list[TimelineEntry]:
    """The organisation's subscription events in words, newest first (two queries)."""
    query = Q()
    for prefix in SUBSCRIPTION_ACTIONS:
        query |= Q(action__startswith=prefix)
    events = list(AuditEvent.objects.filter(query, organisation=organisation)[:limit])
    plan_names = {plan.code: plan.name for plan in Plan.objects.all()}
    return [TimelineEntry(event, _event_text(event, plan_names)) for event in events]


@dataclass(frozen=True)
class Insight:
    months: list[str]
    upgrades: list[int]
    downgrades: list[int]
    reasons: list[tuple[str, int]]
    refunds: dict[str, tuple[list[Decimal], list[Decimal]]]  # currency -> (requested, refunded)


def insight(months: int = 12, today: date | None = None) -> Insight:
    """Plan changes by month and direction, feedback reasons, refunds requested vs
    refunded by month: three queries whatever the volume."""
    day = today or timezone.localdate()
    first = date(day.year, day.month, 1)
    keys = []
    for back in range(months - 1, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        keys.append(date(index // 12, index % 12 + 1, 1))
    since = keys[0]
    labels = [key.strftime("%Y-%m") for key in keys]
    changes = (
        PlanChange.objects.filter(changed_on__gte=since)
        .annotate(month=TruncMonth("changed_on"))
        .values("month", "kind")
        .annotate(n=Count("id"))
    )
    counts = {(row["month"].strftime("%Y-%m"), row["kind"]): row["n"] for row in changes}
    reasons = dict(
        PlanChange.objects.exclude(feedback_reason="")
        .values_list("feedback_reason")
        .annotate(n=Count("id"))
        .values_list("feedback_reason", "n")
    )
    money_rows = (
        RefundRequest.objects.filter(requested_at__date__gte=since)
        .annotate(month=TruncMonth("requested_at"))
        .values("month", "currency")
        .annotate(
            requested=Sum("amount"),
            refunded=Sum("amount", filter=Q(status=RefundStatus.REFUNDED)),
        )
    )
    refunds: dict[str, tuple[list[Decimal], list[Decimal]]] = {}
    for row in money_rows:
        requested, refunded = refunds.setdefault(
            row["currency"], ([Decimal(0)] * months, [Decimal(0)] * months)
        )
        label = row["month"].strftime("%Y-%m")  # the month in the portal's time zone
        if label in labels:
            position = labels.index(label)
            requested[position] += row["requested"] or 0
            refunded[position] += row["refunded"] or 0
    return Insight(
        months=labels,
        upgrades=[counts.get((label, "upgrade"), 0) for label in labels],
        downgrades=[counts.get((label, "downgrade"), 0) for label in labels],
        reasons=[(str(label), reasons.get(code, 0)) for code, label in FeedbackReason.choices],
        refunds=refunds,
    )


AUDIT_COLUMNS = (
    "created_at",
    "organisation",
    "actor_kind",
    "actor_email",
    "action",
    "target",
    "before",
    "after",
)


def audit_row(event: AuditEvent) -> dict[str, Any]:
    """An audit event as exported (command and admin CSV): plain values by column."""
    return {
        "created_at": event.created_at.isoformat(),
        "organisation": event.organisation.slug if event.organisation else "",
        "actor_kind": event.actor_kind,
        "actor_email": event.actor_email,
        "action": event.action,
        "target": event.target,
        "before": event.before,
        "after": event.after,
    }
