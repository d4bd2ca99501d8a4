"""Writing the ledger: the services that move money call these inside their own
transaction, so a line exists exactly when its change does. Amounts are tax-exclusive."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection

from subscriptions.models import (
    LedgerKind,
    LedgerLine,
    PlanChange,
    RefundRequest,
    Subscription,
)


def _describe(subscription: Subscription) -> str:
    return f"{subscription.plan.code}, {subscription.seats} seats, {subscription.cycle}"


def _book(
    subscription: Subscription, kind: str, amount: Decimal, day: date, **links: object
) -> LedgerLine | None:
    assert connection.in_atomic_block, "ledger lines are written in the change's transaction"
    if amount == 0:
        return None  # nothing moved: a Free period, an upgrade with nothing due
    return LedgerLine.objects.create(
        organisation_id=subscription.organisation_id,
        kind=kind,
        amount=amount,
        currency=subscription.currency,
        booked_on=day,
        period_start=subscription.period_start,
        period_end=subscription.period_end,
        description=_describe(subscription),
        **links,
    )


def book_period_charge(
    subscription: Subscription, *, plan_change: PlanChange | None = None
) -> LedgerLine | None:
    """The charge for the subscription's current period (its ``amount_paid``), booked on
    the period's first day; none for a period that costs nothing."""
    return _book(
        subscription,
        LedgerKind.PERIOD_CHARGE,
        subscription.amount_paid,
        subscription.period_start,
        plan_change=plan_change,
    )


def book_change(subscription: Subscription, change: PlanChange, *, new_period: bool) -> None:
    """The money of an applied change, with ``subscription`` as it is afterwards. In the
    same period: what was due (an upgrade's charge). A new period of another cycle: its
    charge, less the credit of the old period's unused value used against it (only what
    it covers: the rest is the change's refund quote, money only once refunded)."""
    if not new_period:
        kind, amount = LedgerKind.UPGRADE_CHARGE, change.amount_due
        _book(subscription, kind, amount, change.changed_on, plan_change=change)
        return
    book_period_charge(subscription, plan_change=change)
    credit_used = subscription.amount_paid - change.amount_due
    kind, amount = LedgerKind.CYCLE_CREDIT, -credit_used
    _book(subscription, kind, amount, change.changed_on, plan_change=change)


def book_refund_paid(refund: RefundRequest, *, day: date) -> LedgerLine:
    """A refund staff marked refunded: money back to the organisation."""
    assert connection.in_atomic_block, "ledger lines are written in the change's transaction"
    return LedgerLine.objects.create(
        organisation_id=refund.organisation_id,
        kind=LedgerKind.REFUND_PAID,
        amount=refund.amount,
        currency=refund.currency,
        booked_on=day,
        description=refund.payment_reference,
        refund_request=refund,
    )
