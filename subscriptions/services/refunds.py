"""Refund requests and their review. A refund is only ever created by the customer's
``request_refund``; staff then approve or reject it, and pay an approved one through the
payment provider (or mark it refunded when the money went back outside it, by bank
transfer); the customer may withdraw it while pending. Every move is audited and the
requester emailed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts.models import User
from audit.services import Action, record
from portal import clock
from portal.emails import dear, send_after_commit
from portal.selectors import organisation_url
from subscriptions.exceptions import (
    IllegalRefundMove,
    NoteRequired,
    PaymentReferenceRequired,
)
from subscriptions.models import PlanChange, RefundRequest, RefundStatus
from subscriptions.selectors.refunds import refund_refusal
from subscriptions.services import collection, ledger, notices
from subscriptions.services.guards import require_customer_manager, require_staff
from subscriptions.snapshots import refund_snapshot


@dataclass(frozen=True)
class RefundMove:
    """One move of the refund life cycle: from a status to another, who may make it, the
    name the admin and ``manage.py refunds`` give it, the fields it takes (the note that
    tells the customer why, the payment's reference) and the one it cannot be made
    without."""

    start: str
    to: str
    who: str  # "staff" or "customer"
    decision: str
    takes: tuple[str, ...] = ()  # of "note", "payment_reference"
    requires: str | None = None


# The refund life cycle as data: every move, and only these, can be made. An approved
# refund is paid through the provider against the period's payments ("pay": the provider's
# reference recorded), or marked refunded with the reference of money returned outside it.
REFUND_MOVES: tuple[RefundMove, ...] = (
    RefundMove(RefundStatus.PENDING, RefundStatus.APPROVED, "staff", "approve", ("note",)),
    RefundMove(RefundStatus.PENDING, RefundStatus.REJECTED, "staff", "reject", ("note",), "note"),
    RefundMove(RefundStatus.PENDING, RefundStatus.WITHDRAWN, "customer", "withdraw"),
    RefundMove(RefundStatus.APPROVED, RefundStatus.REFUNDED, "staff", "pay", ("note",)),
    RefundMove(
        RefundStatus.APPROVED,
        RefundStatus.REFUNDED,
        "staff",
        "mark_refunded",
        ("payment_reference",),
        "payment_reference",
    ),
)
STAFF_DECISIONS = {move.decision: move for move in REFUND_MOVES if move.who == "staff"}
_REQUIRED = {"note": NoteRequired, "payment_reference": PaymentReferenceRequired}


def staff_decisions(refund: RefundRequest) -> list[RefundMove]:
    """The decisions staff may take on this request now, in the table's order."""
    return [move for move in STAFF_DECISIONS.values() if move.start == refund.status]


def decide_refund(
    refund: RefundRequest,
    decision: str,
    *,
    acting_user: User | None,
    note: str = "",
    payment_reference: str = "",
) -> RefundRequest:
    """Take a staff decision by its name (``STAFF_DECISIONS``: approve, reject, pay,
    mark_refunded), with the field the move requires; the admin's actions, its review
    page and ``manage.py refunds`` all come here."""
    move = STAFF_DECISIONS.get(decision)
    if move is None:
        raise IllegalRefundMove(
            status=str(RefundStatus(refund.status).label).lower(), move=decision
        )
    return _move_refund(
        refund,
        move.to,
        decision=decision,
        acting_user=acting_user,
        note=note,
        payment_reference=payment_reference,
    )


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
        if (refusal := refund_refusal(change, today=day)) is not None:
            raise refusal
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
            after=refund_snapshot(refund),
        )
        send_after_commit(
            "subscriptions/email/refund_requested",
            [settings.PAYMENTS_CONTACT_EMAIL],
            {"refund": refund, "change": change, "organisation": change.organisation},
        )
    return refund


def _move_refund(
    refund: RefundRequest,
    to_status: str,
    *,
    decision: str | None = None,
    acting_user: User | None,
    note: str = "",
    payment_reference: str = "",
) -> RefundRequest:
    """Move the request along ``REFUND_MOVES`` (the staff's ``decision`` names the move
    when two lead to the same status): the move must be in the table, made by whom it
    says, with the field it requires (blank counts as missing). "pay" pays the refund
    through the provider (``collection.refund_payments``); when the provider refuses,
    nothing moves (``RefundNotPaid``). Refused (``RuntimeError``) inside a caller's
    transaction: it commits on its own."""
    note, payment_reference = (note or "").strip(), (payment_reference or "").strip()
    # Durable: a refund paid is money gone; no caller's transaction may outlive it.
    with transaction.atomic(durable=True):
        refund = (
            RefundRequest.objects.select_for_update()
            .select_related("organisation")
            .get(pk=refund.pk)
        )
        move = next(
            (
                m
                for m in REFUND_MOVES
                if (m.start, m.to) == (refund.status, to_status) and decision in (None, m.decision)
            ),
            None,
        )
        if move is None:
            status = str(RefundStatus(refund.status).label).lower()
            if refund.status == to_status:
                raise IllegalRefundMove(
                    _("This refund request is already %(status)s."), status=status
                )
            raise IllegalRefundMove(status=status, move=str(RefundStatus(to_status).label).lower())
        if move.who == "customer":
            require_customer_manager(refund.organisation, acting_user)
        else:
            require_staff(acting_user, "subscriptions.decide_refundrequest")
        given = {"note": note, "payment_reference": payment_reference}
        if move.requires is not None and not given[move.requires]:
            raise _REQUIRED[move.requires]()
        before = refund_snapshot(refund)
        if move.decision == "pay":  # money goes back now: the last step that can refuse
            payment_reference = collection.refund_payments(refund)
        refund.status = to_status
        if move.who == "staff":
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
            after=refund_snapshot(refund),
        )
        send_after_commit(
            "subscriptions/email/refund_moved",
            [refund.requested_by_email],
            {
                "refund": refund,
                "organisation": refund.organisation,
                "site": organisation_url(refund.organisation),
            },
            salutation=dear(_requester_name(refund)),
        )
    return refund


def _requester_name(refund: RefundRequest) -> str:
    """The name of whoever asked for the refund ("" if they are gone, or their organisation
    was deleted)."""
    if refund.organisation.deleted_on is not None:
        return ""
    with tenant_context(refund.organisation):
        found = User.objects.filter(pk=refund.requested_by_id).values_list("full_name", flat=True)
        return found.first() or ""


def may_withdraw(refund: RefundRequest) -> bool:
    """Whether the customer may still take the request back (``REFUND_MOVES``)."""
    return any(m.who == "customer" and m.start == refund.status for m in REFUND_MOVES)


def withdraw_refund(refund: RefundRequest, *, acting_user: User | None) -> RefundRequest:
    """The customer takes back a pending request."""
    return _move_refund(refund, RefundStatus.WITHDRAWN, acting_user=acting_user)


def approve_refund(
    refund: RefundRequest, *, acting_user: User | None, note: str = ""
) -> RefundRequest:
    return decide_refund(refund, "approve", acting_user=acting_user, note=note)


def reject_refund(refund: RefundRequest, *, acting_user: User | None, note: str) -> RefundRequest:
    """Refuse a pending request; the note (required) tells the customer why."""
    return decide_refund(refund, "reject", acting_user=acting_user, note=note)


def pay_refund(refund: RefundRequest, *, acting_user: User | None, note: str = "") -> RefundRequest:
    """Pay an approved refund back through the payment provider, against the payments of
    its period: the provider's reference recorded, the refund a ledger line with its return
    invoice."""
    return decide_refund(refund, "pay", acting_user=acting_user, note=note)


def mark_refunded(
    refund: RefundRequest, *, acting_user: User | None, payment_reference: str
) -> RefundRequest:
    """Record that an approved refund was paid, with the payment's reference: the
    refund becomes a ledger line."""
    return decide_refund(
        refund, "mark_refunded", acting_user=acting_user, payment_reference=payment_reference
    )
