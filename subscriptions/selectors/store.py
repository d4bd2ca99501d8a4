"""What the Store's pages read about one organisation besides the offers
(``selectors.previews``): its plan changes, refund requests and subscription activity."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from audit.models import AuditEvent
from audit.selectors import events_of
from audit.services import Action
from portal.db.prepared import Prepared
from portal.models import Organisation
from subscriptions.models import LedgerLine, PlanChange, RefundRequest
from subscriptions.selectors.ledger import lines_of

# What the Store's activity list shows of an organisation's log.
SUBSCRIPTION_ACTIONS = frozenset(
    {
        Action.SUBSCRIPTION_STARTED,
        Action.SUBSCRIPTION_RENEWED,
        Action.PLAN_CHANGED,
        Action.FEEDBACK_SHARED,
        Action.CHANGE_SCHEDULED,
        Action.SCHEDULED_CHANGE_CANCELLED,
        Action.SCHEDULED_CHANGE_NOT_APPLIED,
        Action.REFUND_REQUESTED,
        Action.REFUND_APPROVED,
        Action.REFUND_REJECTED,
        Action.REFUND_WITHDRAWN,
        Action.REFUND_REFUNDED,
        Action.OVERRIDE_GRANTED,
        Action.OVERRIDE_REVOKED,
        Action.USER_SEAT_DEACTIVATED,
    }
)


def plan_changes_of(organisation: Organisation) -> QuerySet[PlanChange]:
    """The organisation's plan changes with their plans, newest first (its refund request
    is not read: the lists do not show it, and its columns cost Django as much to compile
    as the change's own)."""
    return PlanChange.objects.filter(organisation=organisation).select_related(
        "from_plan", "to_plan"
    )


def refund_requests_of(organisation: Organisation) -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(organisation=organisation).select_related(
        "plan_change__from_plan", "plan_change__to_plan"
    )


# How much of each history the Store's home shows; it reads one more row of each, to know
# whether to link to the rest.
ON_HOME = 10

# Read on every visit to the Store's home: their SQL is built once (portal/db/prepared.py).
_LATEST_LINES = Prepared(lambda organisation: lines_of(organisation)[: ON_HOME + 1])
_LATEST_CHANGES = Prepared(lambda organisation: plan_changes_of(organisation)[: ON_HOME + 1])
_LATEST_REFUNDS = Prepared(lambda organisation: refund_requests_of(organisation)[:20])
# The organisation's latest subscription events; the Store words them with the
# ``activity_text`` template tag.
_ACTIVITY = Prepared(lambda organisation: events_of(organisation, SUBSCRIPTION_ACTIONS)[:50])


@dataclass(frozen=True)
class Histories:
    """The latest of each of an organisation's histories, as the Store's home lists
    them: ``ON_HOME`` of its billing lines and plan changes (and one more of each when
    there are more), its latest 20 refund requests and 50 subscription events."""

    billing: list[LedgerLine]
    changes: list[PlanChange]
    refunds: list[RefundRequest]
    activity: list[AuditEvent]


def latest_histories(organisation: Organisation) -> Histories:
    """Four queries."""
    return Histories(
        billing=_LATEST_LINES.all(organisation=organisation),
        changes=_LATEST_CHANGES.all(organisation=organisation),
        refunds=_LATEST_REFUNDS.all(organisation=organisation),
        activity=_ACTIVITY.all(organisation=organisation),
    )


def is_latest_change(change: PlanChange) -> bool:
    """Whether ``change`` is its organisation's latest (one query): only its page may speak
    of the next bill, which is today's."""
    latest = (
        PlanChange.objects.filter(organisation_id=change.organisation_id)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    return latest == change.pk
