"""Writing the append-only audit log: its action names, how an object is named as a target,
and ``record``. Call ``record`` inside the transaction of the change it describes, so the
event exists exactly when the change does. Every app writes it; it stands below them all."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from portal.models import Organisation
from portal.selectors import current_organisation

if TYPE_CHECKING:
    from accounts.models import User


class Action(StrEnum):
    """Every action the portal audits; the stored ``AuditEvent.action`` is the value."""

    # Subscriptions and plan changes
    SUBSCRIPTION_STARTED = "subscription.started"
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    PLAN_CHANGED = "plan.changed"
    FEEDBACK_SHARED = "plan.feedback_shared"
    # Changes at the end of the period (applied ones are "plan.changed")
    CHANGE_SCHEDULED = "plan.change_scheduled"
    SCHEDULED_CHANGE_CANCELLED = "plan.scheduled_change_cancelled"
    SCHEDULED_CHANGE_NOT_APPLIED = "plan.scheduled_change_not_applied"
    # Refund requests: one action per status they move to
    REFUND_REQUESTED = "refund.requested"
    REFUND_APPROVED = "refund.approved"
    REFUND_REJECTED = "refund.rejected"
    REFUND_WITHDRAWN = "refund.withdrawn"
    REFUND_REFUNDED = "refund.refunded"
    # Overrides granted by staff
    OVERRIDE_GRANTED = "override.granted"
    OVERRIDE_REVOKED = "override.revoked"
    # Catalogue edits in the admin
    CATALOGUE_ADDED = "catalogue.added"
    CATALOGUE_CHANGED = "catalogue.changed"
    CATALOGUE_DELETED = "catalogue.deleted"
    # Users and departments of an organisation
    USER_ADDED = "user.added"
    USER_ROLES_CHANGED = "user.roles_changed"
    USER_DEACTIVATED = "user.deactivated"
    USER_SEAT_DEACTIVATED = "user.seat_deactivated"
    USER_REACTIVATED = "user.reactivated"
    PRIMARY_CONTACT_TRANSFERRED = "user.primary_contact_transferred"
    DEPARTMENT_CREATED = "department.created"
    DEPARTMENT_RENAMED = "department.renamed"

    CLOCK_ADVANCED = "clock.advanced"
    BILLING_DETAILS_CHANGED = "billing.details_changed"
    PAYMENT_METHOD_CHANGED = "payment.method_changed"
    PAYMENT_DISPUTED = "payment.disputed"
    # Dunning: a renewal's payment refused, paid later, or the fall back to Free
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_RECOVERED = "payment.recovered"
    FELL_BACK_TO_FREE = "subscription.fell_back_to_free"
    # Staff on a past-due organisation
    PAYMENT_RETRIED = "payment.retried"
    GRACE_EXTENDED = "payment.grace_extended"
    PAYMENT_WAIVED = "payment.waived"
    # Trials
    TRIAL_ENDED = "trial.ended"
    TRIAL_EXTENDED = "trial.extended"
    # Closing an organisation
    CLOSURE_SCHEDULED = "organisation.closure_scheduled"
    CLOSURE_CANCELLED = "organisation.closure_cancelled"
    ORGANISATION_CLOSED = "organisation.closed"
    EXPORT_REQUESTED = "organisation.export_requested"
    EXPORT_WRITTEN = "organisation.export_written"
    DELETION_STARTED = "organisation.deletion_started"
    ORGANISATION_DELETED = "organisation.deleted"

    @classmethod
    def refund_moved(cls, status: str) -> Action:
        """The action of a refund request moving to ``status``."""
        return cls(f"refund.{status}")


# Each action as staff read it in the back office (the stored value is the code).
ACTION_LABELS: dict[str, Promise] = {
    Action.SUBSCRIPTION_STARTED: _("Subscription started"),
    Action.SUBSCRIPTION_RENEWED: _("Subscription renewed"),
    Action.PLAN_CHANGED: _("Plan changed"),
    Action.FEEDBACK_SHARED: _("Feedback shared"),
    Action.CHANGE_SCHEDULED: _("Change scheduled"),
    Action.SCHEDULED_CHANGE_CANCELLED: _("Scheduled change cancelled"),
    Action.SCHEDULED_CHANGE_NOT_APPLIED: _("Scheduled change not applied"),
    Action.REFUND_REQUESTED: _("Refund requested"),
    Action.REFUND_APPROVED: _("Refund approved"),
    Action.REFUND_REJECTED: _("Refund rejected"),
    Action.REFUND_WITHDRAWN: _("Refund request withdrawn"),
    Action.REFUND_REFUNDED: _("Refund paid"),
    Action.OVERRIDE_GRANTED: _("Override granted"),
    Action.OVERRIDE_REVOKED: _("Override revoked"),
    Action.CATALOGUE_ADDED: _("Catalogue entry added"),
    Action.CATALOGUE_CHANGED: _("Catalogue entry changed"),
    Action.CATALOGUE_DELETED: _("Catalogue entry deleted"),
    Action.USER_ADDED: _("User added"),
    Action.USER_ROLES_CHANGED: _("User's roles changed"),
    Action.USER_DEACTIVATED: _("User deactivated"),
    Action.USER_SEAT_DEACTIVATED: _("User deactivated for the plan's seats"),
    Action.USER_REACTIVATED: _("User reactivated"),
    Action.PRIMARY_CONTACT_TRANSFERRED: _("Primary contact transferred"),
    Action.DEPARTMENT_CREATED: _("Department created"),
    Action.DEPARTMENT_RENAMED: _("Department renamed"),
    Action.CLOCK_ADVANCED: _("Test clock advanced"),
    Action.BILLING_DETAILS_CHANGED: _("Billing details changed"),
    Action.PAYMENT_METHOD_CHANGED: _("Payment method changed"),
    Action.PAYMENT_DISPUTED: _("Payment disputed"),
    Action.PAYMENT_FAILED: _("Payment refused"),
    Action.PAYMENT_RECOVERED: _("Unpaid invoice paid"),
    Action.FELL_BACK_TO_FREE: _("Moved to Free after unpaid renewal"),
    Action.PAYMENT_RETRIED: _("Payment retried by staff"),
    Action.GRACE_EXTENDED: _("Payment grace extended"),
    Action.PAYMENT_WAIVED: _("Unpaid renewal waived"),
    Action.TRIAL_ENDED: _("Trial ended: moved to Free"),
    Action.TRIAL_EXTENDED: _("Trial extended"),
    Action.CLOSURE_SCHEDULED: _("Closure scheduled"),
    Action.CLOSURE_CANCELLED: _("Closure cancelled"),
    Action.ORGANISATION_CLOSED: _("Organisation closed"),
    Action.EXPORT_REQUESTED: _("Data export requested"),
    Action.EXPORT_WRITTEN: _("Data export written by a command"),
    Action.DELETION_STARTED: _("Deletion started"),
    Action.ORGANISATION_DELETED: _("Organisation deleted"),
}


def action_label(action: str) -> str:
    """The action in words (its code, for one this release does not know)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


# Targets are stored as "<name>:<pk>"; these models keep the short names the log has
# always used, the others use their model name.
TARGET_NAMES = {
    "planchange": "plan_change",
    "refundrequest": "refund",
    "entitlementoverride": "override",
    "scheduledchange": "scheduled_change",
}


def target_of(entry: models.Model) -> str:
    """How the log names ``entry``: "plan_change:12", "refund:3", "user:7", "plan:2"."""
    name = entry._meta.model_name or ""
    return f"{TARGET_NAMES.get(name, name)}:{entry.pk}"


def actor_fields(acting_user: User | None) -> dict[str, Any]:
    """``acting_user=None`` is an operator's command; vendor staff are public-schema
    users with ``is_staff``; anyone else is a user of the organisation."""
    if acting_user is None:
        return {"actor_kind": AuditEvent.ActorKind.COMMAND, "actor_id": None, "actor_email": ""}
    kind = AuditEvent.ActorKind.STAFF if acting_user.is_staff else AuditEvent.ActorKind.USER
    return {"actor_kind": kind, "actor_id": acting_user.pk, "actor_email": acting_user.email}


def _plain(data: dict[str, Any] | None) -> dict[str, Any]:
    """JSON-safe copy (dates and Decimals as strings)."""
    return json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))


def record(
    action: Action,
    *,
    acting_user: User | None,
    target: models.Model | str,
    organisation: Organisation | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event about ``target`` (an object, or a name for what is no row: "clock:all").
    Without ``organisation``, the organisation whose schema the connection is on (None on
    the public schema)."""
    assert connection.in_atomic_block, "audit events are written in the change's transaction"
    if organisation is None:
        organisation = current_organisation()
    return AuditEvent.objects.create(
        organisation=organisation,
        action=str(action),
        target=target if isinstance(target, str) else target_of(target),
        before=_plain(before),
        after=_plain(after),
        **actor_fields(acting_user),
    )
