"""Refund requests, through subscriptions.services: the customer asks for the frozen quote
of one downgrade, vendor staff decide, the life cycle is REFUND_MOVES and nothing else,
and every move is audited and emailed to the requester."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from audit.models import AuditEvent
from audit.selectors import events_about
from organisations.services import create_organisation
from portal.tenancy import use_public_schema
from subscriptions.exceptions import (
    IllegalRefundMove,
    NoteRequired,
    NotSubscriptionManager,
    PaymentReferenceRequired,
    RefundAlreadyRequested,
    RefundNotAvailable,
    StaffPermissionRequired,
)
from subscriptions.models import ChangeKind, PlanChange, RefundRequest, RefundStatus
from subscriptions.services import plan_changes, refunds
from tests.conftest import Site, drop_schemas, sending_queued_emails
from tests.factories import StaffFactory

PENDING, APPROVED, REFUNDED, REJECTED, WITHDRAWN = (
    RefundStatus.PENDING,
    RefundStatus.APPROVED,
    RefundStatus.REFUNDED,
    RefundStatus.REJECTED,
    RefundStatus.WITHDRAWN,
)
STATUSES = [PENDING, APPROVED, REFUNDED, REJECTED, WITHDRAWN]
# docs/domain.md: pending → approved → refunded, pending → rejected, pending → withdrawn.
LEGAL_MOVES = {(PENDING, APPROVED), (PENDING, REJECTED), (PENDING, WITHDRAWN), (APPROVED, REFUNDED)}
# How a pending request reaches each status by legal moves only.
PATH_TO: dict[str, list[str]] = {
    PENDING: [],
    APPROVED: [APPROVED],
    REFUNDED: [APPROVED, REFUNDED],
    REJECTED: [REJECTED],
    WITHDRAWN: [WITHDRAWN],
}
CUSTOMERS = ["primary", "super"]
NOT_MANAGERS = ["admin", "agent", "inactive"]


# What vendor staff need to decide refunds (StaffFactory's ``permissions``).
DECIDES_REFUNDS = ["decide_refundrequest"]


def move(refund: RefundRequest, to_status: str, *, acting_user: Any) -> RefundRequest:
    """Make one move through the service that makes it. No service moves a request back
    to pending, so that one goes straight to the state machine, which must refuse it."""
    if to_status == APPROVED:
        return refunds.approve_refund(refund, acting_user=acting_user, note="Within policy.")
    if to_status == REJECTED:
        return refunds.reject_refund(refund, acting_user=acting_user, note="Outside policy.")
    if to_status == REFUNDED:
        return refunds.mark_refunded(refund, acting_user=acting_user, payment_reference="PAY-42")
    if to_status == WITHDRAWN:
        return refunds.withdraw_refund(refund, acting_user=acting_user)
    return refunds._move_refund(refund, to_status, acting_user=acting_user)


def drive(refund: RefundRequest, to_status: str, customer: User) -> None:
    """Take a pending request to ``to_status`` the legal way (staff moves by a command)."""
    for step in PATH_TO[to_status]:
        move(refund, step, acting_user=customer if step == WITHDRAWN else None)
    assert RefundRequest.objects.get(pk=refund.pk).status == to_status


def status_of(refund: RefundRequest) -> str:
    return RefundRequest.objects.get(pk=refund.pk).status


@pytest.fixture
def staff(db: None) -> User:
    return StaffFactory.create(permissions=DECIDES_REFUNDS)


@pytest.fixture
def downgrade(northwind: Site) -> PlanChange:
    """Enterprise → Professional mid-period: a downgrade with something to refund."""
    change = plan_changes.change_plan(
        northwind.organisation, "professional", acting_user=northwind.user("primary")
    )
    assert change.kind == ChangeKind.DOWNGRADE
    assert change.refund_quote > 0
    return change


@pytest.fixture
def pending(northwind: Site, downgrade: PlanChange) -> RefundRequest:
    return refunds.request_refund(downgrade, acting_user=northwind.user("primary"))


# --- Requesting -------------------------------------------------------------------------


def test_a_plan_change_never_creates_a_refund(downgrade: PlanChange) -> None:
    assert RefundRequest.objects.count() == 0


@pytest.mark.parametrize("role", CUSTOMERS)
def test_the_customer_requests_the_frozen_quote_and_payments_is_told_after_commit(
    northwind: Site, downgrade: PlanChange, role: str
) -> None:
    customer = northwind.user(role)
    with sending_queued_emails(send=False) as queued:
        refunds.request_refund(downgrade, acting_user=customer)
    assert mail.outbox == []  # queued in the change's transaction; a worker sends it
    assert [email["to"] for email in queued.queued()] == [[settings.PAYMENTS_CONTACT_EMAIL]]
    queued.send()

    refund = RefundRequest.objects.get(plan_change=downgrade)
    assert refund.organisation == northwind.organisation
    assert refund.amount == downgrade.refund_quote
    assert refund.currency == downgrade.currency == "JPY"
    assert refund.status == PENDING
    assert (refund.requested_by_id, refund.requested_by_email) == (customer.pk, customer.email)
    [message] = mail.outbox
    assert message.to == [settings.PAYMENTS_CONTACT_EMAIL]
    assert customer.email in message.body
    event = events_about(refund).get(action="refund.requested")
    assert event.organisation == northwind.organisation
    assert (event.actor_kind, event.actor_id, event.actor_email) == (
        AuditEvent.ActorKind.USER,
        customer.pk,
        customer.email,
    )
    assert event.after["status"] == PENDING

    # Frozen: later changes of plan leave the requested amount as it was.
    plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=customer)
    assert RefundRequest.objects.get(pk=refund.pk).amount == downgrade.refund_quote


def test_one_request_per_plan_change(northwind: Site, downgrade: PlanChange) -> None:
    refunds.request_refund(downgrade, acting_user=northwind.user("primary"))
    with pytest.raises(RefundAlreadyRequested):
        refunds.request_refund(downgrade, acting_user=northwind.user("super"))
    assert RefundRequest.objects.filter(plan_change=downgrade).count() == 1


def test_an_upgrade_has_nothing_to_refund(northwind: Site, downgrade: PlanChange) -> None:
    primary = northwind.user("primary")
    upgrade = plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=primary)
    assert upgrade.kind == ChangeKind.UPGRADE
    assert upgrade.refund_quote == 0
    with pytest.raises(RefundNotAvailable):
        refunds.request_refund(upgrade, acting_user=primary)
    assert not RefundRequest.objects.filter(plan_change=upgrade).exists()


def test_a_refund_may_be_requested_until_the_period_ends(
    northwind: Site, downgrade: PlanChange
) -> None:
    primary = northwind.user("primary")
    with pytest.raises(RefundNotAvailable):
        refunds.request_refund(
            downgrade, acting_user=primary, today=downgrade.period_end + timedelta(days=1)
        )
    assert RefundRequest.objects.count() == 0
    refund = refunds.request_refund(downgrade, acting_user=primary, today=downgrade.period_end)
    assert status_of(refund) == PENDING


@pytest.mark.parametrize("role", NOT_MANAGERS)
def test_only_the_primary_contact_or_a_super_admin_requests_a_refund(
    northwind: Site, downgrade: PlanChange, role: str
) -> None:
    with sending_queued_emails(), pytest.raises(NotSubscriptionManager):
        refunds.request_refund(downgrade, acting_user=northwind.user(role))
    assert RefundRequest.objects.count() == 0
    assert mail.outbox == []


def test_another_organisations_super_admin_cannot_request_a_refund(
    contoso: Site, downgrade: PlanChange
) -> None:
    with pytest.raises(NotSubscriptionManager):
        refunds.request_refund(downgrade, acting_user=contoso.user("primary"))
    assert RefundRequest.objects.count() == 0


@pytest.mark.parametrize("actor", ["staff", "superuser", "command"])
def test_staff_and_commands_do_not_request_refunds(downgrade: PlanChange, actor: str) -> None:
    acting_user = {
        "staff": lambda: StaffFactory.create(permissions=DECIDES_REFUNDS),
        "superuser": lambda: StaffFactory.create(superuser=True),
        "command": lambda: None,
    }[actor]()
    with pytest.raises(NotSubscriptionManager):
        refunds.request_refund(downgrade, acting_user=acting_user)
    assert RefundRequest.objects.count() == 0


# --- The life cycle ---------------------------------------------------------------------


def test_the_life_cycle_table_is_the_domains() -> None:
    assert {(move.start, move.to) for move in refunds.REFUND_MOVES} == LEGAL_MOVES
    assert {(m.start, m.to) for m in refunds.REFUND_MOVES if m.who == "customer"} == {
        (PENDING, WITHDRAWN)
    }
    # A rejection tells the customer why; a refund paid through the provider gets the
    # provider's reference, one returned outside it says by which payment.
    assert {m.decision: m.requires for m in refunds.REFUND_MOVES if m.who == "staff"} == {
        "approve": None,
        "reject": "note",
        "pay": None,
        "mark_refunded": "payment_reference",
    }


@pytest.mark.parametrize("to_status", STATUSES)
@pytest.mark.parametrize("from_status", STATUSES)
def test_only_the_life_cycles_moves_are_made(
    northwind: Site,
    pending: RefundRequest,
    from_status: str,
    to_status: str,
) -> None:
    primary, staff = northwind.user("primary"), StaffFactory.create(permissions=DECIDES_REFUNDS)
    drive(pending, from_status, primary)
    events = events_about(pending)
    seen = set(events.values_list("pk", flat=True))
    actor = primary if to_status == WITHDRAWN else staff

    if (from_status, to_status) not in LEGAL_MOVES:
        with sending_queued_emails(), pytest.raises(IllegalRefundMove):
            move(pending, to_status, acting_user=actor)
        assert status_of(pending) == from_status
        assert set(events.values_list("pk", flat=True)) == seen
        assert mail.outbox == []
        return

    with sending_queued_emails():
        move(pending, to_status, acting_user=actor)
    assert status_of(pending) == to_status
    documents = [m for m in mail.outbox if m.subject.startswith("Return invoice")]
    [message] = [m for m in mail.outbox if m not in documents]
    assert message.to == [primary.email]
    # A refund paid also sends its return invoice (to the primary contact: no billing
    # addresses were set).
    returned = [line.invoice.number for line in pending.ledger_lines.all() if line.invoice]
    assert [document.subject.split(":")[0] for document in documents] == [
        f"Return invoice {number}" for number in returned
    ]
    assert len(returned) == (1 if to_status == REFUNDED else 0)
    [event] = events.exclude(pk__in=seen)
    assert event.action == f"refund.{to_status}"
    assert event.organisation == northwind.organisation
    assert (event.before["status"], event.after["status"]) == (from_status, to_status)
    expected_kind = AuditEvent.ActorKind.USER if actor is primary else AuditEvent.ActorKind.STAFF
    assert (event.actor_kind, event.actor_id, event.actor_email) == (
        expected_kind,
        actor.pk,
        actor.email,
    )


def test_decisions_keep_the_decider_the_note_and_the_payment_reference(
    pending: RefundRequest, staff: User
) -> None:
    refunds.approve_refund(pending, acting_user=staff, note="  Within policy.  ")
    refunds.mark_refunded(pending, acting_user=staff, payment_reference="  PAY-42 ")
    refund = RefundRequest.objects.get(pk=pending.pk)
    assert (refund.status, refund.decided_by) == (REFUNDED, staff.email)
    assert (refund.decision_note, refund.payment_reference) == ("Within policy.", "PAY-42")
    event = events_about(pending).get(action="refund.refunded")
    assert event.after["payment_reference"] == "PAY-42"


def test_a_rejection_carries_its_note_to_the_customer(
    northwind: Site, pending: RefundRequest, staff: User
) -> None:
    with sending_queued_emails():
        refunds.reject_refund(pending, acting_user=staff, note="The period had ended.")
    refund = RefundRequest.objects.get(pk=pending.pk)
    assert (refund.status, refund.decision_note) == (REJECTED, "The period had ended.")
    [message] = mail.outbox
    assert message.to == [northwind.email("primary")]
    assert "The period had ended." in message.body


@pytest.mark.parametrize("note", ["", "   "])
def test_a_rejection_needs_a_note(pending: RefundRequest, staff: User, note: str) -> None:
    with pytest.raises(NoteRequired):
        refunds.reject_refund(pending, acting_user=staff, note=note)
    assert status_of(pending) == PENDING


@pytest.mark.parametrize("reference", ["", "   "])
def test_marking_refunded_needs_the_payment_reference(
    pending: RefundRequest, staff: User, reference: str
) -> None:
    refunds.approve_refund(pending, acting_user=staff)
    with pytest.raises(PaymentReferenceRequired):
        refunds.mark_refunded(pending, acting_user=staff, payment_reference=reference)
    assert status_of(pending) == APPROVED


def test_a_command_decides_as_command(pending: RefundRequest) -> None:
    refunds.approve_refund(pending, acting_user=None)
    assert RefundRequest.objects.get(pk=pending.pk).decided_by == "command"
    event = events_about(pending).get(action="refund.approved")
    assert (event.actor_kind, event.actor_id, event.actor_email) == (
        AuditEvent.ActorKind.COMMAND,
        None,
        "",
    )


def test_a_superuser_decides_without_an_explicit_permission(pending: RefundRequest) -> None:
    root = StaffFactory.create(superuser=True)
    refunds.approve_refund(pending, acting_user=root)
    assert status_of(pending) == APPROVED


# --- Who may move a request -------------------------------------------------------------

STAFF_MOVES = [APPROVED, REJECTED, REFUNDED]


def _ready_for(refund: RefundRequest, to_status: str) -> None:
    """Put the request where ``to_status`` is a legal next move."""
    if to_status == REFUNDED:
        refunds.approve_refund(refund, acting_user=None)


@pytest.mark.parametrize("to_status", STAFF_MOVES)
@pytest.mark.parametrize("role", ["primary", "super", "admin", "agent"])
def test_organisation_users_cannot_decide_refunds(
    northwind: Site, pending: RefundRequest, role: str, to_status: str
) -> None:
    _ready_for(pending, to_status)
    before = status_of(pending)
    with pytest.raises(StaffPermissionRequired):
        move(pending, to_status, acting_user=northwind.user(role))
    assert status_of(pending) == before


@pytest.mark.parametrize("to_status", STAFF_MOVES)
@pytest.mark.parametrize("who", ["without-permission", "deactivated"])
def test_staff_without_the_permission_or_deactivated_cannot_decide_refunds(
    pending: RefundRequest, to_status: str, who: str
) -> None:
    staff = StaffFactory.create(permissions=[] if who == "without-permission" else DECIDES_REFUNDS)
    if who == "deactivated":
        staff.is_active = False
        staff.save(update_fields=["is_active"])
    _ready_for(pending, to_status)
    before = status_of(pending)
    with pytest.raises(StaffPermissionRequired):
        move(pending, to_status, acting_user=staff)
    assert status_of(pending) == before


def test_staff_decide_only_from_the_public_site(northwind: Site, pending: RefundRequest) -> None:
    # A superuser, so that only the schema the connection is on can refuse.
    root = StaffFactory.create(superuser=True)
    with schema_context(northwind.organisation.schema_name), pytest.raises(StaffPermissionRequired):
        refunds.approve_refund(pending, acting_user=root)
    assert status_of(pending) == PENDING


@pytest.mark.parametrize("role", CUSTOMERS)
def test_the_customer_withdraws_a_pending_request(
    northwind: Site, pending: RefundRequest, role: str
) -> None:
    refunds.withdraw_refund(pending, acting_user=northwind.user(role))
    refund = RefundRequest.objects.get(pk=pending.pk)
    assert (refund.status, refund.decided_by) == (WITHDRAWN, "")


@pytest.mark.parametrize("actor", ["staff", "command", "admin", "agent", "contoso"])
def test_only_the_customer_withdraws(
    northwind: Site, contoso: Site, pending: RefundRequest, staff: User, actor: str
) -> None:
    acting_user = {
        "staff": staff,
        "command": None,
        "admin": northwind.user("admin"),
        "agent": northwind.user("agent"),
        "contoso": contoso.user("primary"),
    }[actor]
    with pytest.raises(NotSubscriptionManager):
        refunds.withdraw_refund(pending, acting_user=acting_user)
    assert status_of(pending) == PENDING


# --- Two decisions at once --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_staff_decisions_at_once_only_one_is_made(catalogue: None) -> None:
    """Committed data and a connection per thread; the request's row lock serialises
    the two decisions and the second sees a request that is no longer pending."""
    created = create_organisation(
        name="Race Refund",
        slug="race-refund",
        primary_contact_email="primary@race-refund.test",
        plan_code="enterprise",
        seats=5,
    )
    try:
        customer = created.primary_contact
        change = plan_changes.change_plan(
            created.organisation, "professional", acting_user=customer
        )
        refund = refunds.request_refund(change, acting_user=customer)
        approver, rejecter = StaffFactory.create_batch(2, permissions=DECIDES_REFUNDS)
        decisions: dict[str, Callable[[], RefundRequest]] = {
            "approve": lambda: refunds.approve_refund(refund, acting_user=approver),
            "reject": lambda: refunds.reject_refund(refund, acting_user=rejecter, note="No."),
        }
        barrier = threading.Barrier(len(decisions))
        outcomes: dict[str, object] = {}

        def decide(name: str) -> None:
            try:
                barrier.wait(timeout=10)
                outcomes[name] = decisions[name]().status
            except Exception as error:
                outcomes[name] = error
            finally:
                connection.close()  # this thread's own connection

        threads = [threading.Thread(target=decide, args=(name,)) for name in decisions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)

        made = {name: status for name, status in outcomes.items() if isinstance(status, str)}
        refused = {name: error for name, error in outcomes.items() if name not in made}
        assert len(made) == 1, outcomes
        [error] = refused.values()
        assert isinstance(error, IllegalRefundMove), outcomes
        [winner_status] = made.values()
        assert status_of(refund) == winner_status in (APPROVED, REJECTED)
        decisions_made = events_about(refund).filter(
            action__in=["refund.approved", "refund.rejected"]
        )
        assert list(decisions_made.values_list("action", flat=True)) == [f"refund.{winner_status}"]
    finally:
        # The flush after this test truncates the public tables but leaves schemas.
        use_public_schema()
        drop_schemas("org_race_refund")
