"""Applying a plan change (immediately, as the seed's article describes) and the
feedback on it. What a change would do is ``selectors.previews``; ``change_plan``
applies exactly that preview, computed under the subscription's lock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.selectors import seat_holders
from accounts.services import deactivate_for_seats
from portal.emails import send_after_commit
from portal.models import Organisation
from portal.selectors import organisation_url
from subscriptions import audit
from subscriptions.exceptions import (
    FeedbackReasonNotForChange,
    KeepListInvalid,
    KeepListRequired,
    NoSubscription,
)
from subscriptions.models import ChangeKind, FeedbackReason, Invoice, PlanChange, Subscription
from subscriptions.payments import charge_key, payment_gateway
from subscriptions.selectors.catalogue import get_plan, valid_choice
from subscriptions.selectors.entitlements import forget_entitlements
from subscriptions.selectors.previews import PlanChangePreview, build_preview
from subscriptions.services import ledger
from subscriptions.services.guards import is_vendor_staff, require_subscription_manager
from subscriptions.services.subscription import renew_if_due, snapshot


def _locked_subscription(organisation: Organisation) -> Subscription:
    # Lock the row alone: with a join, PostgreSQL re-checks a row updated while we
    # waited against the old joined plan row and would drop it from the result.
    subscription = (
        Subscription.objects.select_for_update().filter(organisation=organisation).first()
    )
    if subscription is None:
        raise NoSubscription(organisation=organisation)
    return subscription


def change_plan(
    organisation: Organisation,
    plan_code: str,
    *,
    acting_user: User | None,
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
    active; the others are deactivated, never deleted. Creates no refund. An amount due
    is charged through ``subscriptions.payments`` as the last step, under the caller's key
    (or one derived from the change); when it fails nothing is changed."""
    day = today or timezone.localdate()
    to_plan = get_plan(plan_code)
    if feedback_reason:
        valid_choice(feedback_reason, FeedbackReason, "reason")
    with transaction.atomic():
        subscription = _locked_subscription(organisation)
        if idempotency_key:
            done = PlanChange.objects.filter(
                organisation=organisation, idempotency_key=idempotency_key
            ).first()
            if done is not None:
                return done
        require_subscription_manager(organisation, acting_user)
        subscription = renew_if_due(organisation, subscription, day)
        preview = build_preview(
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
        # Fixed before anything is written: a derived key reads the latest change.
        key = charge_key(preview, given=idempotency_key, today=day) if preview.quote.due > 0 else ""
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
            deactivated_user_ids=deactivated,
            idempotency_key=idempotency_key or None,
            feedback_reason=feedback_reason,
            feedback_text=feedback_text.strip(),
            **audit.actor_fields(acting_user),
        )
        before = snapshot(subscription)
        new_period = preview.to_cycle != subscription.cycle
        if new_period:
            # A new period of the new cycle starts today at the new list price; the old
            # period's unused value went into the quote (credit against it, or refund).
            subscription.cycle = preview.to_cycle
            subscription.billing_anchor = preview.period_start  # the new cycle's first day
            subscription.begin_period(preview.period_start, preview.quote.paid_value_after)
        else:
            subscription.upgrade_charges += preview.quote.due
            subscription.paid_value = preview.quote.paid_value_after
        subscription.plan = to_plan
        subscription.seats = preview.seats_after
        subscription.save()
        invoice = ledger.book_change(organisation, subscription, change, new_period=new_period)
        audit.record(
            audit.Action.PLAN_CHANGED,
            acting_user=acting_user,
            organisation=organisation,
            target=change,
            before=before,
            after={
                **snapshot(subscription),
                "kind": change.kind,
                "refund_quote": change.refund_quote,
                "amount_due": change.amount_due,
                "deactivated_user_ids": deactivated,
            },
        )
        _email_primary_contact(organisation, change, invoice)
        if invoice is not None and invoice.total > 0:
            # Last: money taken cannot be rolled back, so everything that can refuse or
            # fail has done so. A PaymentFailed rolls the whole change back (the email
            # above leaves only on commit). What is charged is the invoice's total: the
            # amount due and its tax.
            change.payment_reference = (
                payment_gateway()
                .charge(
                    organisation=organisation,
                    amount=invoice.total,
                    currency=preview.currency,
                    description=f"{preview.from_plan.code} → {to_plan.code}",
                    idempotency_key=key,
                )
                .reference
            )
            change.save(update_fields=["payment_reference"])
    organisation.subscription = subscription
    forget_entitlements(organisation)
    return change


def _apply_seat_choice(
    organisation: Organisation,
    preview: PlanChangePreview,
    keep_user_ids: Iterable[int] | None,
    acting_user: User | None,
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
    with tenant_context(organisation):
        active = dict(seat_holders().values_list("pk", "is_primary_contact"))
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
        if customer and acting_user is not None and acting_user.pk not in keep:
            raise KeepListInvalid(reason=_("you cannot deactivate yourself."))
        leaving = sorted(active.keys() - keep)
        deactivate_for_seats(leaving, acting_user=acting_user, organisation=organisation)
    return leaving


def _primary_contact_email(organisation: Organisation) -> str:
    with tenant_context(organisation):
        contact = (
            User.objects.filter(is_primary_contact=True).values_list("email", flat=True).first()
        )
    return contact or ""


def _email_primary_contact(
    organisation: Organisation, change: PlanChange, invoice: Invoice | None
) -> None:
    send_after_commit(
        "subscriptions/email/plan_changed",
        [_primary_contact_email(organisation)],
        {
            "organisation": organisation,
            "change": change,
            "invoice": invoice,
            "site": organisation_url(organisation),
        },
    )


def share_feedback(
    plan_change: PlanChange, *, acting_user: User | None, reason: str, text: str = ""
) -> PlanChange:
    """Record why the organisation changed plan (optional; may be given after the change).
    The reason must fit the change's kind (``FeedbackReason.for_kind``): a downgrade's
    reason on an upgrade is refused, and nothing is recorded."""
    valid_choice(reason, FeedbackReason, "reason")
    fitting = FeedbackReason.for_kind(plan_change.kind)
    if reason not in fitting:
        raise FeedbackReasonNotForChange(
            reason=FeedbackReason(reason).label,
            kind=ChangeKind(plan_change.kind).label,
            choices=", ".join(str(choice.label) for choice in fitting),
        )
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
            audit.Action.FEEDBACK_SHARED,
            acting_user=acting_user,
            organisation=change.organisation,
            target=change,
            before=before,
            after={"reason": change.feedback_reason, "text": change.feedback_text},
        )
    return change
