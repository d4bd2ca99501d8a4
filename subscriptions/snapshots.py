"""What the audit log keeps of the subscriptions app's rows (``before`` and ``after`` of an
event): a subscription, a scheduled change, a refund request, the card on file.
``audit.services.record`` writes them."""

from __future__ import annotations

from typing import Any

from subscriptions.models import PaymentAccount, RefundRequest, ScheduledChange, Subscription


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
        "trial_ends_on": subscription.trial_ends_on,
    }


def scheduled_snapshot(scheduled: ScheduledChange) -> dict[str, Any]:
    """A scheduled change as the audit log records it."""
    return {
        "plan": scheduled.to_plan.code,
        "cycle": scheduled.to_cycle,
        "seats": scheduled.seats_after,
        "effective": scheduled.effective,
        "status": scheduled.status,
    }


def refund_snapshot(refund: RefundRequest) -> dict[str, Any]:
    """A refund request as the audit log records it at each of its moves."""
    return {
        "status": refund.status,
        "amount": refund.amount,
        "tax": refund.tax,
        "currency": refund.currency,
        "note": refund.decision_note,
        "payment_reference": refund.payment_reference,
    }


def card_snapshot(account: PaymentAccount) -> dict[str, Any]:
    """The card on file as the audit log records it (never more than the provider shows)."""
    return {
        "brand": account.brand,
        "last4": account.last4,
        "exp_month": account.exp_month,
        "exp_year": account.exp_year,
    }
