"""How a change scheduled for the end of the period ends: applied (by the renewal),
cancelled (by the customer, staff, an operator, or a change made or scheduled since) or
not applied (its day came but it could no longer be made). One function resolves it,
whichever way: the row, who and why, and the audit event."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from audit.services import Action, actor_fields, record
from portal.models import Organisation
from subscriptions.models import PlanChange, ScheduledChange
from subscriptions.snapshots import scheduled_snapshot

# The event each ending writes about the scheduled change, and the name its note has in the
# event (as the log has always had it). An applied one is told by the plan change it
# became (``plan.changed``).
EVENTS = {
    ScheduledChange.Status.CANCELLED: (Action.SCHEDULED_CHANGE_CANCELLED, "note"),
    ScheduledChange.Status.NOT_APPLIED: (Action.SCHEDULED_CHANGE_NOT_APPLIED, "reason"),
}


def resolve(
    organisation: Organisation,
    scheduled: ScheduledChange,
    status: str,
    *,
    acting_user: User | None,
    note: str = "",
    plan_change: PlanChange | None = None,
) -> None:
    """Within the change that ends it (the subscription locked): ``scheduled`` is
    ``status`` from now, with the note saying why and the plan change it became or gave
    way to; audited."""
    before = scheduled_snapshot(scheduled)
    scheduled.status = status
    scheduled.resolved_at = timezone.now()
    scheduled.resolved_by = actor_fields(acting_user)["actor_email"] or "command"
    scheduled.note = note
    if plan_change is not None:
        scheduled.plan_change = plan_change
    scheduled.save(update_fields=["status", "resolved_at", "resolved_by", "note", "plan_change"])
    if status in EVENTS:
        action, note_name = EVENTS[ScheduledChange.Status(status)]
        record(
            action,
            acting_user=acting_user,
            organisation=organisation,
            target=scheduled,
            before=before,
            after={**scheduled_snapshot(scheduled), note_name: note},
        )
