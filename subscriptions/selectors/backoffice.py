"""What vendor staff and operators read across organisations: the subscriptions
overview, seats in use for many organisations at once, the insight page's figures and
the audit log's export rows. Each answers in a fixed number of queries, whatever the
number of organisations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from portal.models import Organisation
from subscriptions.models import (
    FeedbackReason,
    PaymentAccount,
    PlanChange,
    RefundRequest,
    RefundStatus,
    ScheduledChange,
    Subscription,
)


def subscriptions_overview(plan_code: str | None = None) -> list[dict[str, Any]]:
    """One row per organisation (plan, cycle, seats used/licensed, period, anchor, scheduled
    change, card on file, and whether it is past due): three queries whatever the number of
    organisations (seats in use are kept in the public schema: ``Subscription.seats_in_use``)."""
    subscriptions = Subscription.objects.select_related("organisation", "plan").order_by(
        "organisation__slug"
    )
    if plan_code:
        subscriptions = subscriptions.filter(plan__code=plan_code)
    rows = list(subscriptions)
    scheduled = {
        change.organisation_id: change
        for change in ScheduledChange.objects.select_related("to_plan").filter(
            status=ScheduledChange.Status.SCHEDULED,
            organisation__in=subscriptions.values("organisation_id"),
        )
    }
    cards = {
        account.organisation_id: account
        for account in PaymentAccount.objects.filter(
            organisation__in=subscriptions.values("organisation_id")
        )
    }
    return [
        {
            "organisation": row.organisation.slug,
            "name": row.organisation.name,
            "plan": row.plan.code,
            "cycle": row.cycle,
            "seats_used": row.seats_in_use,
            "seats_licensed": row.seats,
            "currency": row.currency,
            "period_start": row.period_start,
            "period_end": row.period_end,  # the last day of the period
            "anchor_day": row.billing_anchor.day,
            "anchor_month": row.billing_anchor.month if row.cycle == "annual" else None,
            "scheduled_change": _scheduled_row(scheduled.get(row.organisation_id)),
            "payment_method": _card_row(cards.get(row.organisation_id)),
            "status": "past_due" if row.past_due_since else "active",
            "past_due_since": row.past_due_since,
        }
        for row in rows
    ]


def _card_row(account: PaymentAccount | None) -> dict[str, Any] | None:
    """The card on file as commands print it (brand, last four digits, expiry), or None."""
    if account is None or not account.has_card:
        return None
    return {
        "brand": account.brand,
        "last4": account.last4,
        "exp_month": account.exp_month,
        "exp_year": account.exp_year,
    }


def _scheduled_row(change: ScheduledChange | None) -> dict[str, Any] | None:
    """A scheduled change as commands print it; ``effective`` is the new period's first day."""
    if change is None:
        return None
    return {
        "plan": change.to_plan.code,
        "seats": change.seats_after,
        "cycle": change.to_cycle,
        "effective": change.effective,
    }


@dataclass(frozen=True)
class Insight:
    months: list[str]
    upgrades: list[int]
    downgrades: list[int]
    reasons: list[tuple[str, int]]
    refunds: dict[str, tuple[list[Decimal], list[Decimal]]]  # currency -> (requested, refunded)


INSIGHT_MONTHS = 12  # shown when no range is chosen
INSIGHT_MAX_MONTHS = 36


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def insight_range(
    first_month: date | None, last_month: date | None, today: date | None = None
) -> tuple[date, date]:
    """The first days of the range's first and last months: by default the last
    ``INSIGHT_MONTHS`` up to this one (or up to ``last_month``)."""
    last = _month(month_index(last_month or today or timezone.localdate()))
    first = _month(month_index(first_month)) if first_month else None
    return first or _month(month_index(last) - INSIGHT_MONTHS + 1), last


def insight(
    *,
    first_month: date | None = None,
    last_month: date | None = None,
    organisation: Organisation | None = None,
    today: date | None = None,
) -> Insight:
    """Plan changes by month and direction, feedback reasons, refunds requested vs
    refunded by month, from ``first_month`` to ``last_month`` (``insight_range``), of one
    organisation or all: three queries whatever the volume."""
    first_month, last = insight_range(first_month, last_month, today)
    first_month = min(first_month, last)  # at least the last month
    keys = [_month(index) for index in range(month_index(first_month), month_index(last) + 1)]
    months = len(keys)
    since = keys[0]
    end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)  # first day after
    labels = [key.strftime("%Y-%m") for key in keys]
    scope = Q(organisation=organisation) if organisation is not None else Q()
    in_range = scope & Q(changed_on__gte=since, changed_on__lt=end)
    changes = (
        PlanChange.objects.filter(in_range)
        .annotate(month=TruncMonth("changed_on"))
        .values("month", "kind")
        .annotate(n=Count("id"))
    )
    counts = {(row["month"].strftime("%Y-%m"), row["kind"]): row["n"] for row in changes}
    reasons = dict(
        PlanChange.objects.filter(in_range)
        .exclude(feedback_reason="")
        .values_list("feedback_reason")
        .annotate(n=Count("id"))
        .values_list("feedback_reason", "n")
    )
    money_rows = (
        RefundRequest.objects.filter(
            scope, requested_at__date__gte=since, requested_at__date__lt=end
        )
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


def later_changes(change: PlanChange) -> list[PlanChange]:
    """The organisation's changes made after ``change`` within its refund window: what a
    refund of ``change`` is set against (an upgrade back is charged at the rate the
    downgrade left, so the two add up; one query)."""
    return list(
        PlanChange.objects.filter(
            Q(created_at__gt=change.created_at) | Q(created_at=change.created_at, id__gt=change.pk),
            organisation_id=change.organisation_id,
            changed_on__lte=change.period_end,
        )
        .select_related("from_plan", "to_plan")
        .order_by("created_at", "id")
    )
