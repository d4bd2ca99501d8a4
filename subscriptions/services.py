"""Writes on subscriptions: starting one, previewing and applying plan changes,
refund requests and their review, feedback, overrides and catalogue edits.

Every service takes the acting user (``None`` for operators' commands), runs in one
transaction with the rows it changes locked, writes its audit events in that transaction
and sends email only after commit. Nothing here deletes what an organisation created, and
no refund is ever created except by ``request_refund``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context

from accounts import selectors as account_selectors
from accounts.models import User
from accounts.services import deactivate_for_seats
from portal.emails import send_after_commit
from portal.models import Organisation
from portal.selectors import organisation_url
from subscriptions import audit
from subscriptions.exceptions import (
    CatalogueRuleBroken,
    IllegalRefundMove,
    InvalidChoice,
    InvalidOverride,
    InvalidSeats,
    KeepListInvalid,
    KeepListRequired,
    NoSubscription,
    NoteRequired,
    NotSubscriptionManager,
    PaymentReferenceRequired,
    PriceMissing,
    RefundAlreadyRequested,
    RefundNotAvailable,
    SamePlan,
    SeatsAgainstTheChange,
    StaffPermissionRequired,
    SubscriptionError,
)
from subscriptions.models import (
    BillingCycle,
    ChangeKind,
    Currency,
    EntitlementOverride,
    Feature,
    FeedbackReason,
    Plan,
    PlanChange,
    PlanPrice,
    PlanTransition,
    RefundRequest,
    RefundStatus,
    Subscription,
    TransitionKind,
)
from subscriptions.money import per_day, round_down, round_up
from subscriptions.payments import payment_gateway
from subscriptions.proration import (
    Quote,
    cycle_price,
    period_days,
    period_end,
    quote_change,
    remaining_days,
)
from subscriptions.selectors import (
    SEED_DOWNGRADES,
    SEED_PLAN_CODES,
    USAGE_COUNTERS,
    Entitlements,
    compute_entitlements,
    entitlements_for,
    forget_entitlements,
    get_feature,
    get_plan,
    transition_refusal,
    usage_of,
)

# --- Guards -------------------------------------------------------------------------


def _choice(
    value: str, choices: type[BillingCycle] | type[Currency] | type[FeedbackReason], field: str
) -> str:
    if value not in choices.values:
        raise InvalidChoice(value=value, field=field, choices=", ".join(choices.values))
    return value


def is_vendor_staff(user: Any) -> bool:
    """Vendor staff act from the public site (their user rows live in its schema)."""
    return bool(
        user is not None
        and user.is_active
        and user.is_staff
        and connection.schema_name == get_public_schema_name()  # type: ignore[attr-defined]
    )


def require_subscription_manager(organisation: Organisation, acting_user: Any) -> None:
    """Commands may; vendor staff with the permission may; of the organisation's own
    users, only the primary contact or a super admin, as they are in the database now."""
    if acting_user is None:
        return
    if is_vendor_staff(acting_user):
        if not acting_user.has_perm("subscriptions.change_subscription"):
            raise StaffPermissionRequired()
        return
    with schema_context(organisation.schema_name):
        current = User.objects.filter(pk=acting_user.pk, email=acting_user.email).first()
    if current is None or not account_selectors.can_manage_subscription(current):
        raise NotSubscriptionManager()


def require_customer_manager(organisation: Organisation, acting_user: Any) -> None:
    """For what only the customer does (request or withdraw a refund): the primary
    contact or a super admin of the organisation, never staff or a command."""
    if acting_user is None or is_vendor_staff(acting_user):
        raise NotSubscriptionManager()
    require_subscription_manager(organisation, acting_user)


def require_staff(acting_user: Any, permission: str) -> None:
    """Commands may; otherwise vendor staff with ``permission``."""
    if acting_user is None:
        return
    if not (is_vendor_staff(acting_user) and acting_user.has_perm(permission)):
        raise StaffPermissionRequired()


# --- Prices and periods ---------------------------------------------------------------


def seat_rate(plan: Plan, cycle: str, currency: str) -> Decimal:
    """The plan's monthly price per seat for the cycle and currency."""
    price = PlanPrice.objects.filter(plan=plan, cycle=cycle, currency=currency).first()
    if price is None:
        raise PriceMissing(plan=plan.name, cycle=BillingCycle(cycle).label, currency=currency)
    return price.per_seat_month


def _snapshot(subscription: Subscription) -> dict[str, Any]:
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


def _new_period(subscription: Subscription, start: date, amount_paid: Decimal) -> None:
    subscription.period_start = start
    subscription.period_end = period_end(start, subscription.cycle)
    subscription.amount_paid = amount_paid
    subscription.upgrade_charges = Decimal(0)
    subscription.paid_value = amount_paid


def _renewed(subscription: Subscription, today: date) -> Subscription:
    """The subscription as of ``today``: periods that ended were renewed at list price
    (billing itself is outside this product). Returns a copy; the input is unchanged."""
    if today <= subscription.period_end:
        return subscription
    renewed = copy.copy(subscription)
    rate = seat_rate(renewed.plan, renewed.cycle, renewed.currency)
    price = cycle_price(rate, renewed.seats, renewed.cycle)
    while today > renewed.period_end:
        _new_period(renewed, renewed.period_end + timedelta(days=1), price)
    return renewed


def start_subscription(
    organisation: Organisation,
    *,
    plan_code: str = "free",
    cycle: str = BillingCycle.MONTHLY,
    seats: int | None = None,
    currency: str = Currency.JPY,
    amount_paid: Decimal | None = None,
    acting_user: Any = None,
    today: date | None = None,
) -> Subscription:
    """Put a new organisation on a plan with a period starting today. ``amount_paid``
    (default: the list price) is what was actually paid, discounts included."""
    require_staff(acting_user, "subscriptions.add_subscription")
    plan = get_plan(plan_code)
    _choice(cycle, BillingCycle, "billing cycle")
    _choice(currency, Currency, "currency")
    seats = _valid_seats(plan, seats if seats is not None else (plan.seat_cap or 1))
    price = cycle_price(seat_rate(plan, cycle, currency), seats, cycle)
    paid = price if amount_paid is None else amount_paid
    if paid < 0:
        raise InvalidChoice(value=str(paid), field="amount paid", choices="≥ 0")
    day = today or timezone.localdate()
    with transaction.atomic():
        subscription = Subscription(
            organisation=organisation, plan=plan, cycle=cycle, seats=seats, currency=currency
        )
        _new_period(subscription, day, paid)
        subscription.save()
        audit.record(
            "subscription.started",
            acting_user=acting_user,
            organisation=organisation,
            target=f"subscription:{subscription.pk}",
            after=_snapshot(subscription),
        )
    return subscription


MAX_SEATS = 10_000


def _valid_seats(plan: Plan, seats: int) -> int:
    cap = plan.seat_cap if plan.seat_cap is not None else MAX_SEATS
    if not 1 <= seats <= cap:
        raise InvalidSeats(cap=cap, plan=plan.name)
    return seats


# --- Plan changes -----------------------------------------------------------------------


@dataclass(frozen=True)
class LimitImpact:
    """A limit the new plan sets below what the organisation has: objects past the
    limit are hidden (oldest stay visible), never deleted."""

    feature: Feature
    limit: int | None
    in_use: int

    @property
    def hidden(self) -> int:
        return 0 if self.limit is None else max(0, self.in_use - self.limit)


@dataclass(frozen=True)
class PlanChangePreview:
    """The impact of a plan change, computed without changing anything."""

    organisation: Organisation
    subscription: Subscription
    from_plan: Plan
    to_plan: Plan
    from_cycle: str
    to_cycle: str
    kind: str
    refusal: SubscriptionError | None
    features_lost: tuple[Feature, ...]
    features_gained: tuple[Feature, ...]
    limits_exceeded: tuple[LimitImpact, ...]
    seats_before: int
    seats_after: int
    seats_in_use: int
    quote: Quote
    currency: str
    period_start: date
    period_end: date

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def seats_over(self) -> int:
        """How many active users must be deactivated (kept, never deleted)."""
        return max(0, self.seats_in_use - self.seats_after)


def _change_kind(subscription: Subscription, to_plan: Plan) -> str:
    if to_plan.pk == subscription.plan_id:
        return ChangeKind.CYCLE
    return ChangeKind.UPGRADE if to_plan.rank > subscription.plan.rank else ChangeKind.DOWNGRADE


def _quote(
    subscription: Subscription, to_plan: Plan, to_cycle: str, seats: int, today: date, *, kind: str
) -> tuple[Quote, date, date]:
    """The money of the change and the period the subscription will be in afterwards.
    Same cycle: DOMAIN.md's proration within the current period. New cycle: the unused
    value of the current period (today included) is credited against a new period of the
    new cycle starting today."""
    new_price = cycle_price(seat_rate(to_plan, to_cycle, subscription.currency), seats, to_cycle)
    if to_cycle == subscription.cycle:
        quote = quote_change(
            paid_value=subscription.paid_value,
            new_value=new_price,
            days_in_period=subscription.period_days,
            remaining=remaining_days(subscription.period_end, today),
            currency=subscription.currency,
            downgrade=kind == ChangeKind.DOWNGRADE,
        )
        return quote, subscription.period_start, subscription.period_end
    unused_days = remaining_days(subscription.period_end, today) + 1
    credit = Fraction(subscription.paid_value) * unused_days / subscription.period_days
    start, end = today, period_end(today, to_cycle)
    difference = credit - Fraction(new_price)
    new_daily = per_day(new_price, period_days(start, end))
    quote = Quote(
        remaining_days=unused_days,
        paid_daily=subscription.paid_daily,
        new_daily=new_daily,
        refund=round_down(max(Fraction(0), difference), subscription.currency),
        due=round_up(max(Fraction(0), -difference), subscription.currency),
        paid_value_after=new_price,
    )
    return quote, start, end


def _preview(
    organisation: Organisation,
    *,
    subscription: Subscription,
    to_plan: Plan,
    cycle: str | None,
    seats: int | None,
    today: date,
) -> PlanChangePreview:
    to_cycle = _choice(cycle, BillingCycle, "billing cycle") if cycle else subscription.cycle
    if seats is None:
        seats_after = to_plan.seat_cap if to_plan.seat_cap is not None else subscription.seats
    else:
        seats_after = _valid_seats(to_plan, seats)
    kind = _change_kind(subscription, to_plan)
    refusal: SubscriptionError | None = None
    if kind == ChangeKind.CYCLE and to_cycle == subscription.cycle:
        refusal = SamePlan(plan=to_plan.name)
    elif kind != ChangeKind.CYCLE:
        refusal = transition_refusal(subscription.plan, to_plan)
    # Seats bought on a paid plan move with the plan: a downgrade does not add any (it would
    # never be charged) and an upgrade does not remove any (it would never be refunded).
    bought_seats = subscription.plan.seat_cap is None and to_plan.seat_cap is None
    fewer, more = seats_after < subscription.seats, seats_after > subscription.seats
    against = (kind == ChangeKind.DOWNGRADE and more) or (kind == ChangeKind.UPGRADE and fewer)
    if refusal is None and bought_seats and against:
        refusal = SeatsAgainstTheChange(plan=to_plan.name, seats=subscription.seats)

    current = entitlements_for(organisation, today=today)
    hypothetical = Subscription(organisation_id=organisation.pk, plan=to_plan, seats=seats_after)
    after: Entitlements = compute_entitlements(hypothetical, today)
    features = list(Feature.objects.all())
    usage = usage_of(organisation)
    limits_exceeded = tuple(
        LimitImpact(feature, after.limit(feature.code), usage[feature.code])
        for feature in features
        if feature.code in usage and not after.allows(feature.code, usage[feature.code])
    )
    quote, start, end = _quote(subscription, to_plan, to_cycle, seats_after, today, kind=kind)
    return PlanChangePreview(
        organisation=organisation,
        subscription=subscription,
        from_plan=subscription.plan,
        to_plan=to_plan,
        from_cycle=subscription.cycle,
        to_cycle=to_cycle,
        kind=kind,
        refusal=refusal,
        features_lost=tuple(f for f in features if current.has(f.code) and not after.has(f.code)),
        features_gained=tuple(f for f in features if after.has(f.code) and not current.has(f.code)),
        limits_exceeded=limits_exceeded,
        seats_before=subscription.seats,
        seats_after=seats_after,
        seats_in_use=usage["seats"],
        quote=quote,
        currency=subscription.currency,
        period_start=start,
        period_end=end,
    )


def _subscription(organisation: Organisation, *, lock: bool = False) -> Subscription:
    if lock:
        # Lock the row alone: with a join, PostgreSQL re-checks a row updated while we
        # waited against the old joined plan row and would drop it from the result.
        subscription = (
            Subscription.objects.select_for_update().filter(organisation=organisation).first()
        )
    else:
        subscription = (
            Subscription.objects.select_related("plan").filter(organisation=organisation).first()
        )
    if subscription is None:
        raise NoSubscription(organisation=organisation)
    return subscription


def preview_plan_change(
    organisation: Organisation,
    plan_code: str,
    *,
    cycle: str | None = None,
    seats: int | None = None,
    today: date | None = None,
) -> PlanChangePreview:
    """What changing to ``plan_code`` would do, changing nothing: allowed or refused
    (with the reason), features lost and gained, limits exceeded and objects hidden,
    seats over the new cap, and the refund quote or the amount due."""
    day = today or timezone.localdate()
    to_plan = get_plan(plan_code)
    subscription = _renewed(_subscription(organisation), day)
    return _preview(
        organisation,
        subscription=subscription,
        to_plan=to_plan,
        cycle=cycle,
        seats=seats,
        today=day,
    )


def change_plan(
    organisation: Organisation,
    plan_code: str,
    *,
    acting_user: Any,
    cycle: str | None = None,
    seats: int | None = None,
    keep_user_ids: Iterable[int] | None = None,
    feedback_reason: str = "",
    feedback_text: str = "",
    idempotency_key: str | None = None,
    today: date | None = None,
) -> PlanChange:
    """Apply a plan change immediately. Serialised per organisation by a row lock on
    the subscription; a repeated ``idempotency_key`` returns the change it already made.
    When active users exceed the new plan's seats, ``keep_user_ids`` chooses who stays
    active; the others are deactivated, never deleted. Creates no refund."""
    day = today or timezone.localdate()
    to_plan = get_plan(plan_code)
    if feedback_reason:
        _choice(feedback_reason, FeedbackReason, "reason")
    with transaction.atomic():
        subscription = _subscription(organisation, lock=True)
        if idempotency_key:
            done = PlanChange.objects.filter(
                organisation=organisation, idempotency_key=idempotency_key
            ).first()
            if done is not None:
                return done
        require_subscription_manager(organisation, acting_user)
        subscription = _renew_if_due(organisation, subscription, day)
        preview = _preview(
            organisation,
            subscription=subscription,
            to_plan=to_plan,
            cycle=cycle,
            seats=seats,
            today=day,
        )
        if preview.refusal is not None:
            raise preview.refusal
        deactivated = _apply_seat_choice(organisation, preview, keep_user_ids, acting_user)
        reference = ""
        if preview.quote.due > 0:
            reference = (
                payment_gateway()
                .charge(
                    organisation=organisation,
                    amount=preview.quote.due,
                    currency=preview.currency,
                    description=f"{preview.from_plan.code} → {to_plan.code}",
                )
                .reference
            )
        change = PlanChange.objects.create(
            organisation=organisation,
            from_plan=preview.from_plan,
            to_plan=to_plan,
            kind=preview.kind,
            from_cycle=preview.from_cycle,
            to_cycle=preview.to_cycle,
            seats_before=preview.seats_before,
            seats_after=preview.seats_after,
            currency=preview.currency,
            changed_on=day,
            period_end=preview.period_end,
            remaining_days=preview.quote.remaining_days,
            paid_daily_before=preview.quote.paid_daily,
            new_daily=preview.quote.new_daily,
            refund_quote=preview.quote.refund,
            amount_due=preview.quote.due,
            payment_reference=reference,
            deactivated_user_ids=deactivated,
            idempotency_key=idempotency_key or None,
            feedback_reason=feedback_reason,
            feedback_text=feedback_text.strip(),
            **audit.actor_fields(acting_user),
        )
        before = _snapshot(subscription)
        if preview.to_cycle != subscription.cycle:
            # A new period of the new cycle starts today at the new list price; the old
            # period's unused value went into the quote (credit against it, or refund).
            subscription.cycle = preview.to_cycle
            _new_period(subscription, preview.period_start, preview.quote.paid_value_after)
        else:
            subscription.upgrade_charges += preview.quote.due
            subscription.paid_value = preview.quote.paid_value_after
        subscription.plan = to_plan
        subscription.seats = preview.seats_after
        subscription.save()
        audit.record(
            "plan.changed",
            acting_user=acting_user,
            organisation=organisation,
            target=f"plan_change:{change.pk}",
            before=before,
            after={
                **_snapshot(subscription),
                "kind": change.kind,
                "refund_quote": change.refund_quote,
                "amount_due": change.amount_due,
                "deactivated_user_ids": deactivated,
            },
        )
        _email_primary_contact(organisation, change)
    organisation.subscription = subscription
    forget_entitlements(organisation)
    return change


def _renew_if_due(
    organisation: Organisation, subscription: Subscription, today: date
) -> Subscription:
    renewed = _renewed(subscription, today)
    if renewed is subscription:
        return subscription
    before = _snapshot(subscription)
    renewed.save(
        update_fields=["period_start", "period_end", "amount_paid", "upgrade_charges", "paid_value"]
    )
    audit.record(
        "subscription.renewed",
        acting_user=None,
        organisation=organisation,
        target=f"subscription:{renewed.pk}",
        before=before,
        after=_snapshot(renewed),
    )
    return renewed


def _apply_seat_choice(
    organisation: Organisation,
    preview: PlanChangePreview,
    keep_user_ids: Iterable[int] | None,
    acting_user: Any,
) -> list[int]:
    """Deactivate the active users not kept when they exceed the new seats."""
    if preview.seats_over == 0:
        return []
    if not keep_user_ids:
        raise KeepListRequired(
            plan=preview.to_plan.name, seats=preview.seats_after, active=preview.seats_in_use
        )
    keep = {int(pk) for pk in keep_user_ids}
    # Decided before switching schema: staff are recognised on the public schema.
    customer = acting_user is not None and not is_vendor_staff(acting_user)
    with schema_context(organisation.schema_name):
        active = dict(User.objects.filter(is_active=True).values_list("pk", "is_primary_contact"))
        if not keep <= active.keys():
            raise KeepListInvalid(
                reason=_("some of them are not active users of this organisation.")
            )
        if len(keep) > preview.seats_after:
            raise KeepListInvalid(
                reason=_("choose at most %(seats)s users.") % {"seats": preview.seats_after}
            )
        if any(is_primary and pk not in keep for pk, is_primary in active.items()):
            raise KeepListInvalid(reason=_("the primary contact always stays active."))
        if customer and acting_user.pk not in keep:
            raise KeepListInvalid(reason=_("you cannot deactivate yourself."))
        leaving = sorted(active.keys() - keep)
        deactivate_for_seats(leaving, acting_user=acting_user, organisation=organisation)
    return leaving


def _primary_contact_email(organisation: Organisation) -> str:
    with schema_context(organisation.schema_name):
        contact = (
            User.objects.filter(is_primary_contact=True).values_list("email", flat=True).first()
        )
    return contact or ""


def _email_primary_contact(organisation: Organisation, change: PlanChange) -> None:
    send_after_commit(
        "subscriptions/email/plan_changed",
        [_primary_contact_email(organisation)],
        {"organisation": organisation, "change": change, "site": organisation_url(organisation)},
    )


def share_feedback(
    plan_change: PlanChange, *, acting_user: Any, reason: str, text: str = ""
) -> PlanChange:
    """Record why the organisation changed plan (optional; may be given after the change)."""
    _choice(reason, FeedbackReason, "reason")
    with transaction.atomic():
        change = (
            PlanChange.objects.select_for_update()
            .select_related("organisation")
            .get(pk=plan_change.pk)
        )
        require_subscription_manager(change.organisation, acting_user)
        before = {"reason": change.feedback_reason, "text": change.feedback_text}
        change.feedback_reason, change.feedback_text = reason, (text or "").strip()[:2000]
        change.save(update_fields=["feedback_reason", "feedback_text"])
        audit.record(
            "plan.feedback_shared",
            acting_user=acting_user,
            organisation=change.organisation,
            target=f"plan_change:{change.pk}",
            before=before,
            after={"reason": change.feedback_reason, "text": change.feedback_text},
        )
    return change


# --- Refunds ----------------------------------------------------------------------------

# The refund life cycle as data: (from, to) → who may make the move.
REFUND_MOVES: dict[tuple[str, str], str] = {
    (RefundStatus.PENDING, RefundStatus.APPROVED): "staff",
    (RefundStatus.PENDING, RefundStatus.REJECTED): "staff",
    (RefundStatus.PENDING, RefundStatus.WITHDRAWN): "customer",
    (RefundStatus.APPROVED, RefundStatus.REFUNDED): "staff",
}


def request_refund(
    plan_change: PlanChange, *, acting_user: Any, today: date | None = None
) -> RefundRequest:
    """Ask for the prorated refund of one plan change: its quote, frozen now. One per
    change, while the change's billing period lasts. Notifies PAYMENTS_CONTACT_EMAIL."""
    day = today or timezone.localdate()
    with transaction.atomic():
        change = (
            PlanChange.objects.select_for_update()
            .select_related("organisation")
            .get(pk=plan_change.pk)
        )
        require_customer_manager(change.organisation, acting_user)  # staff decide, not ask
        if change.refund_quote <= 0:
            raise RefundNotAvailable(reason=_("there is no amount to refund."))
        if day > change.period_end:
            raise RefundNotAvailable(reason=_("the billing period of the change has ended."))
        if RefundRequest.objects.filter(plan_change=change).exists():
            raise RefundAlreadyRequested()
        refund = RefundRequest.objects.create(
            plan_change=change,
            organisation=change.organisation,
            amount=change.refund_quote,
            currency=change.currency,
            requested_by_id=acting_user.pk,
            requested_by_email=acting_user.email,
        )
        audit.record(
            "refund.requested",
            acting_user=acting_user,
            organisation=change.organisation,
            target=f"refund:{refund.pk}",
            after=_refund_snapshot(refund),
        )
        send_after_commit(
            "subscriptions/email/refund_requested",
            [settings.PAYMENTS_CONTACT_EMAIL],
            {"refund": refund, "change": change, "organisation": change.organisation},
        )
    return refund


def _refund_snapshot(refund: RefundRequest) -> dict[str, Any]:
    return {
        "status": refund.status,
        "amount": refund.amount,
        "currency": refund.currency,
        "note": refund.decision_note,
        "payment_reference": refund.payment_reference,
    }


def _move_refund(
    refund: RefundRequest,
    to_status: str,
    *,
    acting_user: Any,
    note: str = "",
    payment_reference: str = "",
) -> RefundRequest:
    with transaction.atomic():
        refund = (
            RefundRequest.objects.select_for_update()
            .select_related("organisation")
            .get(pk=refund.pk)
        )
        who = REFUND_MOVES.get((refund.status, to_status))
        if who is None:
            raise IllegalRefundMove(
                status=RefundStatus(refund.status).label, move=RefundStatus(to_status).label
            )
        if who == "customer":
            require_customer_manager(refund.organisation, acting_user)
        else:
            require_staff(acting_user, "subscriptions.decide_refundrequest")
        before = _refund_snapshot(refund)
        refund.status = to_status
        if who == "staff":
            refund.decided_by = acting_user.email if acting_user is not None else "command"
        if note:
            refund.decision_note = note
        if payment_reference:
            refund.payment_reference = payment_reference
        refund.save(
            update_fields=[
                "status",
                "decided_by",
                "decision_note",
                "payment_reference",
                "updated_at",
            ]
        )
        audit.record(
            f"refund.{to_status}",
            acting_user=acting_user,
            organisation=refund.organisation,
            target=f"refund:{refund.pk}",
            before=before,
            after=_refund_snapshot(refund),
        )
        send_after_commit(
            "subscriptions/email/refund_moved",
            [refund.requested_by_email],
            {
                "refund": refund,
                "organisation": refund.organisation,
                "site": organisation_url(refund.organisation),
            },
        )
    return refund


def withdraw_refund(refund: RefundRequest, *, acting_user: Any) -> RefundRequest:
    """The customer takes back a pending request."""
    return _move_refund(refund, RefundStatus.WITHDRAWN, acting_user=acting_user)


def approve_refund(refund: RefundRequest, *, acting_user: Any, note: str = "") -> RefundRequest:
    return _move_refund(refund, RefundStatus.APPROVED, acting_user=acting_user, note=note.strip())


def reject_refund(refund: RefundRequest, *, acting_user: Any, note: str) -> RefundRequest:
    """Refuse a pending request; the note (required) tells the customer why."""
    if not (note or "").strip():
        raise NoteRequired()
    return _move_refund(refund, RefundStatus.REJECTED, acting_user=acting_user, note=note.strip())


def mark_refunded(
    refund: RefundRequest, *, acting_user: Any, payment_reference: str
) -> RefundRequest:
    """Record that an approved refund was paid, with the payment's reference."""
    if not (payment_reference or "").strip():
        raise PaymentReferenceRequired()
    return _move_refund(
        refund,
        RefundStatus.REFUNDED,
        acting_user=acting_user,
        payment_reference=payment_reference.strip(),
    )


# --- Overrides and the catalogue --------------------------------------------------------


def _bump_entitlements(organisation: Organisation) -> None:
    Subscription.objects.filter(organisation=organisation).update(updated_at=timezone.now())
    forget_entitlements(organisation)


def grant_override(
    organisation: Organisation,
    feature_code: str,
    *,
    acting_user: Any,
    reason: str,
    limit: int | None = None,
    valid_until: date | None = None,
    today: date | None = None,
) -> EntitlementOverride:
    """Give one organisation a feature (a switch) or a higher limit (empty: unlimited),
    optionally until a date (inclusive)."""
    require_staff(acting_user, "subscriptions.add_entitlementoverride")
    feature = get_feature(feature_code)
    if not (reason or "").strip():
        raise InvalidOverride(reason=_("give a reason."))
    if feature.kind == Feature.Kind.SWITCH and limit is not None:
        raise InvalidOverride(reason=_("an on/off feature takes no limit."))
    if limit is not None and limit < 0:
        raise InvalidOverride(reason=_("a limit cannot be negative."))
    if valid_until is not None and valid_until < (today or timezone.localdate()):
        raise InvalidOverride(reason=_("the end date is in the past."))
    with transaction.atomic():
        override = EntitlementOverride.objects.create(
            organisation=organisation,
            feature=feature,
            limit=limit,
            valid_until=valid_until,
            reason=reason.strip(),
            granted_by=acting_user.email if acting_user else "command",
        )
        _bump_entitlements(organisation)
        audit.record(
            "override.granted",
            acting_user=acting_user,
            organisation=organisation,
            target=f"override:{override.pk}",
            after={
                "feature": feature.code,
                "limit": limit,
                "valid_until": valid_until,
                "reason": override.reason,
            },
        )
    return override


def revoke_override(override: EntitlementOverride, *, acting_user: Any) -> EntitlementOverride:
    require_staff(acting_user, "subscriptions.change_entitlementoverride")
    with transaction.atomic():
        override = (
            EntitlementOverride.objects.select_for_update()
            .select_related("organisation", "feature")
            .get(pk=override.pk)
        )
        if override.revoked_at is not None:
            raise InvalidOverride(reason=_("it was already revoked."))
        override.revoked_at = timezone.now()
        override.save(update_fields=["revoked_at"])
        _bump_entitlements(override.organisation)
        audit.record(
            "override.revoked",
            acting_user=acting_user,
            organisation=override.organisation,
            target=f"override:{override.pk}",
            before={"feature": override.feature.code, "limit": override.limit},
        )
    return override


def check_transition(
    transition: PlanTransition | None, *, from_plan: Plan, to_plan: Plan, kind: str
) -> None:
    """Refuse a transition whose kind contradicts the plans' ranks, or an edit that
    would turn one of the seed's required downgrades into something else."""
    if from_plan.pk == to_plan.pk:
        raise CatalogueRuleBroken(reason=_("a plan cannot move to itself."))
    expected = TransitionKind.UPGRADE if to_plan.rank > from_plan.rank else TransitionKind.DOWNGRADE
    if kind != expected:
        names = {"from": from_plan.name, "to": to_plan.name}
        if expected == TransitionKind.UPGRADE:
            reason = _("from %(from)s to %(to)s is an upgrade, not a downgrade.") % names
        else:
            reason = _("from %(from)s to %(to)s is a downgrade, not an upgrade.") % names
        raise CatalogueRuleBroken(reason=reason)
    if transition is None or not transition.pk or not is_required_transition(transition):
        return
    if (transition.from_plan_id, transition.to_plan_id) != (from_plan.pk, to_plan.pk):
        raise CatalogueRuleBroken(
            reason=_("%(transition)s is one of the downgrades the product must offer.")
            % {"transition": transition}
        )


def is_required_transition(transition: PlanTransition) -> bool:
    """One of the seed's five downgrades (which staff may not remove)."""
    pair = (transition.from_plan.code, transition.to_plan.code)
    return transition.kind == TransitionKind.DOWNGRADE and pair in SEED_DOWNGRADES


def may_delete_plan(plan: Plan) -> bool:
    """Plans named by the seed's downgrades stay (those in use are also protected by
    their subscriptions)."""
    return plan.code not in SEED_PLAN_CODES


def may_delete_feature(feature: Feature) -> bool:
    """Limits the portal counts objects against stay: without them every organisation's
    objects would be hidden."""
    return feature.code not in USAGE_COUNTERS


def check_plan_code_change(plan: Plan, new_code: str) -> None:
    """The seed's downgrades name plans by code: those codes stay."""
    if plan.pk and plan.code in SEED_PLAN_CODES and new_code != plan.code:
        raise CatalogueRuleBroken(
            reason=_("the code “%(code)s” is used by the downgrades the product must offer.")
            % {"code": plan.code}
        )


def record_catalogue_change(
    entry: Any, *, acting_user: Any, action: str, before: dict[str, Any] | None = None
) -> None:
    """After staff edit a catalogue entry (plan, price, feature, value, transition):
    audit it, and make every organisation's entitlements be computed afresh."""
    with transaction.atomic():
        Subscription.objects.update(updated_at=timezone.now())
        audit.record(
            f"catalogue.{action}",
            acting_user=acting_user,
            organisation=None,
            target=f"{entry._meta.model_name}:{entry.pk}",
            before=before or {},
            after={"entry": str(entry)},
        )
