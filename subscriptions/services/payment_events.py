"""Events the payment provider sends to the webhook: kept once by their id (a replay finds
the event and changes nothing), then processed by a job, each kind by its handler. A
payment succeeded is booked if the portal had not booked it yet; a dispute tells the
vendor's payments contact and is audited; the others are noted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Action, record
from portal.emails import send_after_commit
from subscriptions.models import Payment, PaymentStatus, ProviderEvent
from subscriptions.services import collection


def receive(event: dict[str, Any]) -> ProviderEvent | None:
    """Keep a verified event, unless its id is known already: the event kept, or None for
    a replay (changes nothing)."""
    stored, created = ProviderEvent.objects.get_or_create(
        event_id=str(event["id"]), defaults={"type": str(event["type"]), "payload": event}
    )
    return stored if created else None


def _dispute_opened(dispute: dict[str, Any]) -> str:
    payment = (
        Payment.objects.filter(reference=dispute.get("payment_intent") or "-")
        .select_related("organisation")
        .first()
    )
    organisation = payment.organisation if payment is not None else None
    facts = {
        "dispute": dispute.get("id"),
        "payment_intent": dispute.get("payment_intent"),
        "amount": dispute.get("amount"),
        "currency": dispute.get("currency"),
        "reason": dispute.get("reason"),
    }
    record(
        Action.PAYMENT_DISPUTED,
        acting_user=None,
        organisation=organisation,
        target=f"dispute:{dispute.get('id')}",
        after=facts,
    )
    send_after_commit(
        "subscriptions/email/payment_disputed",
        [settings.PAYMENTS_CONTACT_EMAIL],
        {"organisation": organisation, "facts": facts},
    )
    return "staff told"


def _payment_succeeded(intent: dict[str, Any]) -> str:
    """The provider took a payment: booked if the portal asked for it and had not booked it
    yet (its capture's answer lost); a payment the portal never asked for is left to
    ``reconcile_payments``."""
    payment = Payment.objects.filter(reference=intent.get("id") or "-").first()
    if payment is None:
        return "not a payment of the portal's"
    if payment.status == PaymentStatus.PAID:
        return "booked already"
    collection.record_received(payment)
    return "payment booked"


def _noted(found: dict[str, Any]) -> str:
    return f"noted ({found.get('status') or found.get('object') or 'event'})"


HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "charge.dispute.created": _dispute_opened,
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _noted,
    "refund.updated": _noted,
    "setup_intent.succeeded": _noted,
}


def process(event_id: str) -> ProviderEvent | None:
    """Process a kept event once (a second run finds it processed and changes nothing):
    its handler, or "ignored" for kinds the portal does not act on; the outcome kept."""
    with transaction.atomic():
        stored = ProviderEvent.objects.select_for_update().filter(event_id=event_id).first()
        if stored is None or stored.processed_at is not None:
            return stored
        handler = HANDLERS.get(stored.type)
        found = stored.payload.get("data", {}).get("object", {})
        stored.outcome = handler(found) if handler is not None else "ignored"
        stored.processed_at = timezone.now()
        stored.save(update_fields=["outcome", "processed_at"])
    return stored
