"""What the Store's pages read about one organisation besides the offers
(``selectors.previews``): its plan changes, refund requests and subscription activity."""

from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent
from audit.selectors import events_of
from audit.services import Action
from portal.models import Organisation
from subscriptions.models import PlanChange, RefundRequest

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


def subscription_activity(organisation: Organisation, limit: int = 50) -> list[AuditEvent]:
    """The organisation's subscription events, newest first (one query); the Store
    words them with the ``activity_text`` template tag."""
    return list(events_of(organisation, SUBSCRIPTION_ACTIONS)[:limit])


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
