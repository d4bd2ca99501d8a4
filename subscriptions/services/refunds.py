"""Refund requests and their review. A refund is only ever created by the customer's
``request_refund``; staff then approve, reject or mark it refunded; the customer may
withdraw it while pending. Every move is audited and the requester emailed."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import Action, record
from portal import clock
from portal.emails import send_after_commit
from portal.selectors import organisation_url
from subscriptions.exceptions import (
    IllegalRefundMove,
    NoteRequired,
    PaymentReferenceRequired,
    RefundAlreadyRequested,
    RefundNotAvailable,
)
from subscriptions.models import PlanChange, RefundRequest, RefundStatus
from subscriptions.services import ledger, notices
from subscriptions.services.guards import require_customer_manager, require_staff

# The refund life cycle as data: (from, to) → who may make the move.
REFUND_MOVES: dict[tuple[str, str], str] = {
    (RefundStatus.PENDING, RefundStatus.APPROVED): "staff",
    (RefundStatus.PENDING, RefundStatus.REJECTED): "staff",
    (RefundStatus.PENDING, RefundStatus.WITHDRAWN): "customer",
    (RefundStatus.APPROVED, RefundStatus.REFUNDED): "staff",
}


def staff_moves(refund: RefundRequest) -> list[str]:
    """The statuses staff may move this request to now (``REFUND_MOVES``)."""
    return [
        to for (start, to), who in REFUND_MOVES.items() if start == refund.status and who == "staff"
    ]


def request_refund(
    plan_change: PlanChange, *, acting_user: User | None, today: date | None = None
) -> RefundRequest:
    """Ask for the prorated refund of one plan change: its quote, frozen now. One per
    change, while the change's billing period lasts. Notifies PAYMENTS_CONTACT_EMAIL."""
    with transaction.atomic():
        change = (
            PlanChange.objects.select_for_update()
            .select_related("organisation")
            .get(pk=plan_change.pk)
        )
        day = today or clock.today(change.organisation)
        require_customer_manager(change.organisation, acting_user)  # staff decide, not ask
        assert acting_user is not None  # the guard refuses commands
        if change.refund_quote <= 0:
            raise RefundNotAvailable(reason=_("there is no amount to refund."))
        if day > change.period_end:
            raise RefundNotAvailable(reason=_("the billing period of the change has ended."))
        if RefundRequest.objects.filter(plan_change=change).exists():
            raise RefundAlreadyRequested()
        refund = RefundRequest.objects.create(
            plan_change=change,
            organisation=change.organisation,
            amount=change.refund_quote,
            tax=change.refund_tax,
            currency=change.currency,
            requested_by_id=acting_user.pk,
            requested_by_email=acting_user.email,
        )
        record(
            Action.REFUND_REQUESTED,
            acting_user=acting_user,
            organisation=change.organisation,
            target=refund,
            after=_refund_snapshot(refund),
        )
        send_after_commit(
            "subscriptions/email/refund_requested",
            [settings.PAYMENTS_CONTACT_EMAIL],
            {"refund": refund, "change": change, "organisation": change.organisation},
        )
    return refund


def _refund_snapshot(refund: RefundRequest) -> dict[str, Any]:
    return {
        "status": refund.status,
        "amount": refund.amount,
        "tax": refund.tax,
        "currency": refund.currency,
        "note": refund.decision_note,
        "payment_reference": refund.payment_reference,
    }


def _move_refund(
    refund: RefundRequest,
    to_status: str,
    *,
    acting_user: User | None,
    note: str = "",
    payment_reference: str = "",
) -> RefundRequest:
    with transaction.atomic():
        refund = (
            RefundRequest.objects.select_for_update()
            .select_related("organisation")
            .get(pk=refund.pk)
        )
        who = REFUND_MOVES.get((refund.status, to_status))
        if who is None:
            status = str(RefundStatus(refund.status).label).lower()
            if refund.status == to_status:
                raise IllegalRefundMove(
                    _("This refund request is already %(status)s."), status=status
                )
            raise IllegalRefundMove(status=status, move=str(RefundStatus(to_status).label).lower())
        if who == "customer":
            require_customer_manager(refund.organisation, acting_user)
        else:
            require_staff(acting_user, "subscriptions.decide_refundrequest")
        before = _refund_snapshot(refund)
        refund.status = to_status
        if who == "staff":
            refund.decided_by = acting_user.email if acting_user is not None else "command"
        if note:
            refund.decision_note = note
        if payment_reference:
            refund.payment_reference = payment_reference
        refund.save(
            update_fields=[
                "status",
                "decided_by",
                "decision_note",
                "payment_reference",
                "updated_at",
            ]
        )
        if to_status == RefundStatus.REFUNDED:
            paid = ledger.book_refund_paid(refund, day=clock.today(refund.organisation))
            if paid.invoice is not None:  # its return invoice
                notices.send_document(refund.organisation, paid.invoice)
        record(
            Action.refund_moved(to_status),
            acting_user=acting_user,
            organisation=refund.organisation,
            target=refund,
            before=before,
            after=_refund_snapshot(refund),
        )
        send_after_commit(
            "subscriptions/email/refund_moved",
            [refund.requested_by_email],
            {
                "refund": refund,
                "organisation": refund.organisation,
                "site": organisation_url(refund.organisation),
            },
        )
    return refund


def withdraw_refund(refund: RefundRequest, *, acting_user: User | None) -> RefundRequest:
    """The customer takes back a pending request."""
    return _move_refund(refund, RefundStatus.WITHDRAWN, acting_user=acting_user)


def approve_refund(
    refund: RefundRequest, *, acting_user: User | None, note: str = ""
) -> RefundRequest:
    return _move_refund(refund, RefundStatus.APPROVED, acting_user=acting_user, note=note.strip())


def reject_refund(refund: RefundRequest, *, acting_user: User | None, note: str) -> RefundRequest:
    """Refuse a pending request; the note (required) tells the customer why."""
    if not (note or "").strip():
        raise NoteRequired()
    return _move_refund(refund, RefundStatus.REJECTED, acting_user=acting_user, note=note.strip())


def mark_refunded(
    refund: RefundRequest, *, acting_user: User | None, payment_reference: str
) -> RefundRequest:
    """Record that an approved refund was paid, with the payment's reference: the
    refund becomes a ledger line."""
    if not (payment_reference or "").strip():
        raise PaymentReferenceRequired()
    return _move_refund(
        refund,
        RefundStatus.REFUNDED,
        acting_user=acting_user,
        payment_reference=payment_reference.strip(),
    )
