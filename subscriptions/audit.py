"""Writing the append-only audit log. Call ``record`` inside the transaction of the
change it describes, so the event exists exactly when the change does."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from portal.models import Organisation
from portal.selectors import current_organisation
from subscriptions.models import AuditEvent


def actor_fields(acting_user: Any) -> dict[str, Any]:
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
    action: str,
    *,
    acting_user: Any,
    organisation: Organisation | None = None,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Without ``organisation``, the organisation whose schema the
    connection is on (None on the public schema)."""
    assert connection.in_atomic_block, "audit events are written in the change's transaction"
    if organisation is None:
        organisation = current_organisation()
    return AuditEvent.objects.create(
        organisation=organisation,
        action=action,
        target=target,
        before=_plain(before),
        after=_plain(after),
        **actor_fields(acting_user),
    )
