"""Applying a plan change (immediately, as the seed's article describes) and the
feedback on it. What a change would do is ``selectors.previews``; ``change_plan``
applies exactly that preview, computed under the subscription's lock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.services import deactivate_for_seats
from audit.services import Action, actor_fields, record
from portal import clock
from portal.models import Organisation
from subscriptions.exceptions import FeedbackReasonNotForChange
from subscriptions.models import ChangeKind, FeedbackReason, PlanChange
from subscriptions.models.changes import terms_of
from subscriptions.payments import charge_key
from subscriptions.selectors.catalogue import get_plan, valid_choice
from subscriptions.selectors.entitlements import forget_entitlements
from subscriptions.services import collection, ledger, notices, scheduled_changes
from subscriptions.services.change_checks import check_change
from subscriptions.services.guards import require_subscription_manager
from subscriptions.services.locks import locked_subscription
from subscriptions.snapshots import snapshot


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
    promise: str | None = None,
    authenticated_payment: str = "",
) -> PlanChange:
    """Apply a plan change immediately. Serialised per organisation by a row lock on
    the subscription; a repeated ``idempotency_key`` returns the change it already made.
    When active users exceed the new plan's seats, ``keep_user_ids`` chooses who stays
    active; the others are deactivated, never deleted. Creates no refund. An amount due
    is held on the card as the last step, under the caller's key (or one derived from the
    change), and taken once the change is committed (``services.collection``); when the
    hold is refused nothing is changed. With ``promise``
    (the ``PlanChangePreview.promise`` of the page or dry run the confirmer saw), the change
    is made only if its figures are still those: else ``QuoteChanged``, nothing changed.
    When the card asks for 3-D Secure, ``AuthenticationRequired`` (nothing changed); sent
    again with ``authenticated_payment`` (the hold the customer then confirmed), it is
    paid with that hold.
    Refused (``RuntimeError``) inside a caller's transaction: it commits on its own."""
    day = today or clock.today(organisation)
    to_plan = get_plan(plan_code)
    if feedback_reason:
        valid_choice(feedback_reason, FeedbackReason, "reason")
    # Durable: the hold is the last write only if this transaction is the outermost (a
    # caller's own transaction would commit, or roll back, after the money was held), and
    # the held money is taken once it is committed (``collection.paid_on_commit``).
    with collection.paid_on_commit() as holds, transaction.atomic(durable=True):
        subscription = locked_subscription(organisation)
        if idempotency_key:
            done = PlanChange.objects.filter(
                organisation=organisation, idempotency_key=idempotency_key
            ).first()
            if done is not None:
                # A key is no pass: the earlier change is returned only to someone who
                # may change the plan now.
                require_subscription_manager(organisation, acting_user)
                return done
        checked = check_change(
            organisation,
            subscription,
            to_plan,
            acting_user=acting_user,
            cycle=cycle,
            seats=seats,
            keep_user_ids=keep_user_ids,
            today=day,
            promise=promise,
        )
        preview, deactivated = checked.preview, checked.leaving
        subscription = preview.subscription
        if deactivated:
            with tenant_context(organisation):
                deactivate_for_seats(
                    deactivated, acting_user=acting_user, organisation=organisation
                )
        # Fixed before anything is written: a derived key reads the latest change.
        key = charge_key(preview, given=idempotency_key, today=day) if preview.quote.due > 0 else ""
        change = PlanChange.objects.create(
            organisation=organisation,
            **terms_of(preview),
            currency=preview.currency,
            changed_on=day,
            period_end=preview.period_end,
            remaining_days=preview.quote.remaining_days,
            paid_daily_before=preview.quote.paid_daily,
            new_daily=preview.quote.new_daily,
            refund_quote=preview.quote.refund,
            refund_tax=preview.refund_tax,
            amount_due=preview.quote.due,
            new_price=preview.new_price,
            deactivated_user_ids=deactivated,
            idempotency_key=idempotency_key or None,
            feedback_reason=feedback_reason,
            feedback_text=feedback_text.strip(),
            **actor_fields(acting_user),
        )
        before = snapshot(subscription)
        new_period = preview.new_period
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
        subscription.trial_ends_on = None  # any change ends a trial: a plan was chosen
        subscription.save_terms()
        if subscription.past_due_since is not None:  # to Free (the rule): the unpaid is void
            collection.void_unpaid(organisation, subscription, day=day)
        documents = ledger.book_change(
            organisation,
            subscription,
            change,
            new_period=new_period,
            credit_tax=preview.credit_tax,
        )
        # A change made now replaces one waiting for the period's end (docs/domain.md, Time).
        scheduled_changes.cancel_for_change(organisation, change, acting_user=acting_user)
        record(
            Action.PLAN_CHANGED,
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
        notices.tell_primary_contact(
            organisation, "plan_changed", change=change, documents=documents
        )
        for document in (documents.invoice, documents.returned):
            if document is not None:  # the primary contact has them in the email above
                notices.send_document(organisation, document, to_primary_contact=False)
        if documents.invoice is not None and documents.charged > 0:
            # Last: everything that can refuse or fail has done so. A PaymentFailed rolls
            # the whole change back (the email above leaves only on commit). What is held
            # is the invoice's total (the amount due and its tax) less the credit given
            # back on the return invoice; it is taken once the change is committed.
            change.payment_reference = holds.hold(
                documents.invoice,
                documents.charged,
                description=f"{preview.from_plan.code} → {to_plan.code}",
                idempotency_key=key,
                day=day,
                authenticated=authenticated_payment,
            ).reference
            change.save(update_fields=["payment_reference"])
        elif documents.invoice is not None:
            collection.settled_by_credit(documents.invoice, day=day)
    organisation.subscription = subscription
    forget_entitlements(organisation)
    return change


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
        record(
            Action.FEEDBACK_SHARED,
            acting_user=acting_user,
            organisation=change.organisation,
            target=change,
            before=before,
            after={"reason": change.feedback_reason, "text": change.feedback_text},
        )
    return change
