"""Reading the audit log: the events about some rows, an organisation's events, and an
event as the exports write it (``manage.py audit`` and the admin's CSV)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from audit.models import AuditEvent
from audit.services import Action, target_of
from portal.models import Organisation


def events_about(*entries: models.Model) -> models.QuerySet[AuditEvent]:
    """Every event whose target is one of ``entries``, oldest first."""
    return AuditEvent.objects.filter(target__in=[target_of(entry) for entry in entries]).order_by(
        "created_at", "id"
    )


def events_of(
    organisation: Organisation, actions: Iterable[Action] | None = None
) -> models.QuerySet[AuditEvent]:
    """The organisation's events (optionally only ``actions``), newest first."""
    events = AuditEvent.objects.filter(organisation=organisation)
    if actions is not None:
        events = events.filter(action__in=[str(action) for action in actions])
    return events.order_by("-created_at", "-id")


AUDIT_COLUMNS = (
    "created_at",
    "organisation",
    "actor_kind",
    "actor_email",
    "action",
    "target",
    "before",
    "after",
)


def audit_row(event: AuditEvent) -> dict[str, Any]:
    """An audit event as exported (command and admin CSV): plain values by column."""
    return {
        "created_at": event.created_at.isoformat(),
        "organisation": event.organisation.slug if event.organisation else "",
        "actor_kind": event.actor_kind,
        "actor_email": event.actor_email,
        "action": event.action,
        "target": event.target,
        "before": event.before,
        "after": event.after,
    }
