"""The audit log: PostgreSQL keeps it append-only, and every service that changes roles,
users, departments, plans, seats, overrides or feedback writes its event in the change's
own transaction (so a rolled-back change leaves none)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django_tenants.utils import tenant_context

from accounts import services as accounts
from accounts.exceptions import PrimaryContactProtected
from accounts.models import Department, User
from audit.models import AuditEvent
from audit.services import Action, record, target_of
from portal.models import Organisation
from subscriptions.exceptions import KeepListRequired, PaymentFailed, TransitionNotAllowed
from subscriptions.models import EntitlementOverride, Plan, PlanChange, RefundRequest, Subscription
from subscriptions.payments import Charge
from subscriptions.services import overrides, plan_changes, refunds, scheduled_changes
from tests.conftest import Site, owner_role
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

# The app role's privileges refuse it; the owner's statement reaches the triggers, which do.
BY_ROLE = pytest.mark.parametrize(
    ("owner", "refusal"),
    [(False, "permission denied"), (True, "append-only")],
    ids=["app", "owner"],
)

USER, STAFF, COMMAND = (
    AuditEvent.ActorKind.USER,
    AuditEvent.ActorKind.STAFF,
    AuditEvent.ActorKind.COMMAND,
)


def latest_id() -> int:
    """Events committed by the session's set-up are older than the test's."""
    return AuditEvent.objects.aggregate(latest=Max("id"))["latest"] or 0


def events_since(mark: int, action: str | None = None) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(pk__gt=mark).order_by("id")
    return list(events.filter(action=action) if action else events)


def actor_of(event: AuditEvent) -> tuple[str, int | None, str]:
    return (event.actor_kind, event.actor_id, event.actor_email)


# --- Append-only ------------------------------------------------------------------------


@pytest.fixture
def event(northwind: Site) -> AuditEvent:
    with transaction.atomic():
        return record(
            Action.SUBSCRIPTION_RENEWED,
            acting_user=None,
            organisation=northwind.organisation,
            target=northwind.organisation,
            before={"value": 1},
            after={"value": 2},
        )


def _orm_update(event: AuditEvent) -> None:
    AuditEvent.objects.filter(pk=event.pk).update(action="test.tampered")


def _orm_save(event: AuditEvent) -> None:
    event.after = {"value": 3}
    event.save()


def _orm_delete(event: AuditEvent) -> None:
    AuditEvent.objects.filter(pk=event.pk).delete()


def _instance_delete(event: AuditEvent) -> None:
    event.delete()


def _sql_update(event: AuditEvent) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE subscriptions_auditevent SET action = %s WHERE id = %s",
            ["test.tampered", event.pk],
        )


def _sql_delete(event: AuditEvent) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM subscriptions_auditevent WHERE id = %s", [event.pk])


def _sql_truncate(event: AuditEvent) -> None:
    """As a session that has not been allowed to (the test suite's own flush is)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL portal.allow_truncate = 'off'")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # else the new row's checks wait
        cursor.execute("TRUNCATE subscriptions_auditevent")


TAMPERING: dict[str, Callable[[AuditEvent], None]] = {
    "orm-update": _orm_update,
    "orm-save": _orm_save,
    "orm-delete": _orm_delete,
    "instance-delete": _instance_delete,
    "sql-update": _sql_update,
    "sql-delete": _sql_delete,
    "sql-truncate": _sql_truncate,
}


@BY_ROLE
@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_database_refuses_to_change_or_delete_an_event(
    event: AuditEvent, tamper: Callable[[AuditEvent], None], owner: bool, refusal: str
) -> None:
    row = AuditEvent.objects.filter(pk=event.pk).values().get()
    with (
        owner_role() if owner else nullcontext(),
        pytest.raises(DatabaseError, match=refusal),
        transaction.atomic(),
    ):
        tamper(event)
    assert AuditEvent.objects.filter(pk=event.pk).values().get() == row


def test_targets_keep_the_names_the_log_has_always_used() -> None:
    """Events written before targets were derived from objects must still be found by
    ``events_about``: the stored names do not change."""
    assert target_of(PlanChange(pk=7)) == "plan_change:7"
    assert target_of(RefundRequest(pk=8)) == "refund:8"
    assert target_of(EntitlementOverride(pk=9)) == "override:9"
    assert target_of(Subscription(pk=10)) == "subscription:10"
    assert target_of(User(pk=11)) == "user:11"
    assert target_of(Department(pk=12)) == "department:12"
    assert target_of(Plan(pk=13)) == "plan:13"


def test_every_action_written_is_a_known_action(northwind: Site) -> None:
    """The actions in the log are the constants of ``Action``, nothing else."""
    customer = northwind.user("primary")
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    refunds.request_refund(change, acting_user=customer)
    with tenant_context(northwind.organisation):
        accounts.deactivate_user(northwind.user("agent"), acting_user=None)
    written = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"plan.changed", "refund.requested", "user.deactivated"} <= written
    assert written <= {str(action) for action in Action}


def test_record_refuses_to_run_outside_a_transaction() -> None:
    """A thread's own connection is in autocommit, outside any transaction: exactly
    where an event could outlive a change that rolled back."""
    outcome: list[object] = []

    def record_in_autocommit() -> None:
        try:
            outcome.append(connection.in_atomic_block)
            record(Action.SUBSCRIPTION_RENEWED, acting_user=None, target=Organisation(pk=1))
        except Exception as error:
            outcome.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=record_in_autocommit)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    in_transaction, error = outcome
    assert in_transaction is False
    assert isinstance(error, AssertionError)
    assert not AuditEvent.objects.filter(action="test.outside").exists()


# --- Account services (in the organisation's schema) ------------------------------------


@dataclass(frozen=True)
class Expected:
    target: str
    before: dict[str, Any]
    after: dict[str, Any]


def _roles(user: User, **changes: bool) -> dict[str, bool]:
    roles = {
        "is_primary_contact": user.is_primary_contact,
        "is_super_admin": user.is_super_admin,
        "is_administrator": user.is_administrator,
        "is_active": user.is_active,
    }
    return {**roles, **changes}


def _user_added(site: Site, actor: User | None) -> Expected:
    user = accounts.add_user(email="new@northwind.test", is_administrator=True, acting_user=actor)
    after = {"email": "new@northwind.test", **_roles(user)}
    assert after["is_administrator"] and not after["is_super_admin"]
    return Expected(f"user:{user.pk}", {}, after)


def _roles_changed(site: Site, actor: User | None) -> Expected:
    agent = site.user("agent")
    accounts.update_roles(agent, is_super_admin=False, is_administrator=True, acting_user=actor)
    return Expected(f"user:{agent.pk}", _roles(agent), _roles(agent, is_administrator=True))


def _deactivated(site: Site, actor: User | None) -> Expected:
    agent = site.user("agent")
    accounts.deactivate_user(agent, acting_user=actor)
    return Expected(f"user:{agent.pk}", {"is_active": True}, {"is_active": False})


def _reactivated(site: Site, actor: User | None) -> Expected:
    inactive = site.user("inactive")
    accounts.reactivate_user(inactive, acting_user=actor)
    return Expected(f"user:{inactive.pk}", {"is_active": False}, {"is_active": True})


def _primary_contact_transferred(site: Site, actor: User | None) -> Expected:
    agent = site.user("agent")
    accounts.transfer_primary_contact(agent, acting_user=actor)
    return Expected(
        f"user:{agent.pk}",
        {"primary_contact": site.email("primary")},
        {"primary_contact": site.email("agent")},
    )


def _department_created(site: Site, actor: User | None) -> Expected:
    department = accounts.create_department(name="  Billing  team ", acting_user=actor)
    return Expected(f"department:{department.pk}", {}, {"name": "Billing team"})


def _department_renamed(site: Site, actor: User | None) -> Expected:
    department = Department.objects.get()
    old_name = department.name
    accounts.rename_department(department, name="Front line", acting_user=actor)
    return Expected(f"department:{department.pk}", {"name": old_name}, {"name": "Front line"})


ACCOUNT_CHANGES: dict[str, Callable[[Site, User | None], Expected]] = {
    "user.added": _user_added,
    "user.roles_changed": _roles_changed,
    "user.deactivated": _deactivated,
    "user.reactivated": _reactivated,
    "user.primary_contact_transferred": _primary_contact_transferred,
    "department.created": _department_created,
    "department.renamed": _department_renamed,
}


@pytest.mark.parametrize("actor_role", ["super", None])
@pytest.mark.parametrize("action", ACCOUNT_CHANGES)
def test_account_services_audit_their_changes(
    in_northwind: Site, action: str, actor_role: str | None
) -> None:
    actor = in_northwind.user(actor_role) if actor_role else None
    mark = latest_id()
    expected = ACCOUNT_CHANGES[action](in_northwind, actor)
    [event] = events_since(mark)
    assert event.action == action
    assert event.organisation == in_northwind.organisation
    assert event.target == expected.target
    assert (event.before, event.after) == (expected.before, expected.after)
    if actor is None:
        assert actor_of(event) == (COMMAND, None, "")
    else:
        assert actor_of(event) == (USER, actor.pk, actor.email)


def test_a_refused_account_change_writes_no_event(in_northwind: Site) -> None:
    mark = latest_id()
    with pytest.raises(PrimaryContactProtected):
        accounts.deactivate_user(in_northwind.user("primary"), acting_user=None)
    assert events_since(mark) == []


# --- Plan changes, seats, feedback, overrides -------------------------------------------


def test_a_plan_change_is_audited_with_the_subscription_before_and_after(
    northwind: Site,
) -> None:
    primary = northwind.user("primary")
    mark = latest_id()
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=primary)
    [event] = events_since(mark)
    assert event.action == "plan.changed"
    assert event.organisation == northwind.organisation
    assert event.target == f"plan_change:{change.pk}"
    assert actor_of(event) == (USER, primary.pk, primary.email)
    assert (event.before["plan"], event.after["plan"]) == ("enterprise", "professional")
    assert event.before["seats"] == event.after["seats"] == 10
    assert event.after["kind"] == "downgrade"
    assert Decimal(event.after["refund_quote"]) == change.refund_quote > 0
    assert Decimal(event.after["amount_due"]) == 0
    assert event.after["deactivated_user_ids"] == []


def test_a_command_plan_change_is_audited_as_command(northwind: Site) -> None:
    mark = latest_id()
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    [event] = events_since(mark, "plan.changed")
    assert actor_of(event) == (COMMAND, None, "")


def test_seats_lost_to_a_downgrade_are_audited_one_by_one(northwind: Site) -> None:
    primary = northwind.user("primary")
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    agent_id = northwind.user_ids["agent"]
    mark = latest_id()
    change = plan_changes.change_plan(
        northwind.organisation, "free", acting_user=primary, keep_user_ids=keep
    )
    assert change.deactivated_user_ids == [agent_id]
    [seat_event] = events_since(mark, "user.seat_deactivated")
    assert seat_event.organisation == northwind.organisation
    assert seat_event.target == f"user:{agent_id}"
    assert actor_of(seat_event) == (USER, primary.pk, primary.email)
    assert (seat_event.before, seat_event.after) == ({"is_active": True}, {"is_active": False})
    [plan_event] = events_since(mark, "plan.changed")
    assert plan_event.after["deactivated_user_ids"] == [agent_id]
    assert plan_event.after["plan"] == "free"
    assert plan_event.after["seats"] == 3


def test_feedback_is_audited(northwind: Site) -> None:
    primary = northwind.user("primary")
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=primary)
    mark = latest_id()
    plan_changes.share_feedback(
        change, acting_user=primary, reason="too_expensive", text="  Fewer tickets now.  "
    )
    [event] = events_since(mark)
    assert event.action == "plan.feedback_shared"
    assert event.organisation == northwind.organisation
    assert event.target == f"plan_change:{change.pk}"
    assert actor_of(event) == (USER, primary.pk, primary.email)
    assert event.before == {"reason": "", "text": ""}
    assert event.after == {"reason": "too_expensive", "text": "Fewer tickets now."}


@pytest.mark.parametrize("by_staff", [True, False], ids=["staff", "command"])
def test_overrides_granted_and_revoked_are_audited(northwind: Site, by_staff: bool) -> None:
    actor = (
        StaffFactory.create(permissions=["add_entitlementoverride", "change_entitlementoverride"])
        if by_staff
        else None
    )
    expected_actor = (STAFF, actor.pk, actor.email) if actor else (COMMAND, None, "")
    until = date.today() + timedelta(days=30)
    mark = latest_id()
    override = overrides.grant_override(
        northwind.organisation,
        "webhooks",
        acting_user=actor,
        reason="  Pilot integration ",
        limit=25,
        valid_until=until,
    )
    [granted] = events_since(mark)
    assert granted.action == "override.granted"
    assert granted.organisation == northwind.organisation
    assert granted.target == f"override:{override.pk}"
    assert actor_of(granted) == expected_actor
    assert granted.before == {}
    assert granted.after == {
        "feature": "webhooks",
        "limit": 25,
        "valid_until": until.isoformat(),
        "reason": "Pilot integration",
    }

    mark = latest_id()
    overrides.revoke_override(override, acting_user=actor)
    assert EntitlementOverride.objects.get(pk=override.pk).revoked_at is not None
    [revoked] = events_since(mark)
    assert revoked.action == "override.revoked"
    assert revoked.organisation == northwind.organisation
    assert revoked.target == f"override:{override.pk}"
    assert actor_of(revoked) == expected_actor
    assert revoked.before == {"feature": "webhooks", "limit": 25}


# --- A change that does not happen leaves no event --------------------------------------


class DecliningGateway:
    """A payment processor that declines every hold."""

    def hold(self, **_: Any) -> Charge:
        raise PaymentFailed(amount="-", reason="declined")


def test_a_refused_transition_after_a_renewal_leaves_no_event(northwind: Site) -> None:
    """The change renews the ended period (and audits that) before it is refused: the
    refusal rolls back both."""
    subscription = Subscription.objects.get(organisation=northwind.organisation)
    mark = latest_id()
    with pytest.raises(TransitionNotAllowed):
        plan_changes.change_plan(
            northwind.organisation,
            "standard",
            acting_user=northwind.user("primary"),
            today=subscription.period_end + timedelta(days=1),
        )
    assert events_since(mark) == []
    assert Subscription.objects.get(pk=subscription.pk).period_end == subscription.period_end


def test_a_downgrade_missing_its_keep_list_leaves_no_event(northwind: Site) -> None:
    mark = latest_id()
    with pytest.raises(KeepListRequired):
        plan_changes.change_plan(northwind.organisation, "free", acting_user=None)
    assert events_since(mark) == []


def test_a_declined_upgrade_leaves_no_event(northwind: Site, settings) -> None:
    primary = northwind.user("primary")
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=primary)
    settings.SUBSCRIPTIONS_PAYMENT_GATEWAY = f"{__name__}.DecliningGateway"
    mark = latest_id()
    with pytest.raises(PaymentFailed):
        plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=primary)
    assert events_since(mark) == []
    assert Subscription.objects.get(organisation=northwind.organisation).plan.code == (
        "professional"
    )


def test_an_event_is_rolled_back_with_its_change(northwind: Site) -> None:
    class Abandoned(Exception):
        pass

    # A service a caller may wrap (the money services refuse it: they commit on their own).
    mark = latest_id()
    with pytest.raises(Abandoned), transaction.atomic():
        scheduled_changes.schedule_change(northwind.organisation, "professional", acting_user=None)
        assert len(events_since(mark, "plan.change_scheduled")) == 1
        raise Abandoned
    assert events_since(mark) == []
