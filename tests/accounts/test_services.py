"""Role rules, enforced in accounts.services, against a real organisation schema."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import is_password_usable
from django.core import mail
from django.db import IntegrityError, transaction

from accounts import services
from accounts.exceptions import (
    AlreadyActive,
    AlreadyDeactivated,
    AlreadyPrimaryContact,
    CannotDeactivateSelf,
    DepartmentNameTaken,
    InvalidDepartmentName,
    InvalidEmail,
    NotAllowed,
    PrimaryContactProtected,
    SuperAdminRightsRequired,
    UserAlreadyExists,
    UserInactive,
)
from accounts.models import Department, User
from tests.conftest import Site, queued_emails, send_queued_emails

FULL_CONTROL = {"primary", "super"}
USER_MANAGERS = {"primary", "super", "admin"}


@pytest.mark.parametrize("actor_role", ["primary", "super", "admin", "agent"])
def test_only_full_control_grants_super_admin(in_northwind: Site, actor_role: str) -> None:
    actor, target = (
        in_northwind.user(actor_role),
        in_northwind.user("agent" if actor_role != "agent" else "admin"),
    )
    if actor_role in FULL_CONTROL:
        user = services.update_roles(
            target, is_super_admin=True, is_administrator=False, acting_user=actor
        )
        assert User.objects.get(pk=user.pk).is_super_admin
    else:
        with pytest.raises((SuperAdminRightsRequired, NotAllowed)):
            services.update_roles(
                target, is_super_admin=True, is_administrator=False, acting_user=actor
            )
        assert not User.objects.get(pk=target.pk).is_super_admin


@pytest.mark.parametrize("actor_role", ["primary", "super", "admin", "agent"])
def test_only_full_control_removes_super_admin(in_northwind: Site, actor_role: str) -> None:
    actor = in_northwind.user(actor_role)
    target = services.add_user(
        email="second-super@northwind.test", is_super_admin=True, acting_user=None
    )
    if actor_role in FULL_CONTROL:
        services.update_roles(
            target, is_super_admin=False, is_administrator=False, acting_user=actor
        )
        assert not User.objects.get(pk=target.pk).is_super_admin
    else:
        with pytest.raises((SuperAdminRightsRequired, NotAllowed)):
            services.update_roles(
                target, is_super_admin=False, is_administrator=False, acting_user=actor
            )
        assert User.objects.get(pk=target.pk).is_super_admin


@pytest.mark.parametrize("actor_role", ["primary", "super", "admin", "agent"])
def test_user_managers_set_the_administrator_flag(in_northwind: Site, actor_role: str) -> None:
    actor, target = in_northwind.user(actor_role), in_northwind.user("agent")
    if actor_role in USER_MANAGERS:
        services.update_roles(
            target, is_super_admin=False, is_administrator=True, acting_user=actor
        )
        assert User.objects.get(pk=target.pk).is_administrator
    else:
        with pytest.raises(NotAllowed):
            services.update_roles(
                target, is_super_admin=False, is_administrator=True, acting_user=actor
            )
        assert not User.objects.get(pk=target.pk).is_administrator


def test_an_administrator_cannot_touch_a_super_admin(in_northwind: Site) -> None:
    admin, super_admin = in_northwind.user("admin"), in_northwind.user("super")
    with pytest.raises(SuperAdminRightsRequired):
        services.update_roles(
            super_admin, is_super_admin=True, is_administrator=True, acting_user=admin
        )
    with pytest.raises(SuperAdminRightsRequired):
        services.deactivate_user(super_admin, acting_user=admin)
    assert User.objects.get(pk=super_admin.pk).is_active


@pytest.mark.parametrize("actor_role", ["primary", "super"])
def test_the_primary_contact_cannot_be_demoted(in_northwind: Site, actor_role: str) -> None:
    primary = in_northwind.user("primary")
    assert primary.is_super_admin
    actor = in_northwind.user(actor_role)
    with pytest.raises(PrimaryContactProtected):
        services.update_roles(
            primary, is_super_admin=False, is_administrator=False, acting_user=actor
        )
    # Gaining a role is not a demotion.
    services.update_roles(primary, is_super_admin=True, is_administrator=True, acting_user=actor)
    assert User.objects.get(pk=primary.pk).is_administrator


@pytest.mark.parametrize("actor", ["super", None])
def test_the_primary_contact_cannot_be_deactivated(in_northwind: Site, actor: str | None) -> None:
    primary = in_northwind.user("primary")
    with pytest.raises(PrimaryContactProtected):
        services.deactivate_user(primary, acting_user=in_northwind.user(actor) if actor else None)
    assert User.objects.get(pk=primary.pk).is_active


@pytest.mark.parametrize("role", ["super", "admin"])
def test_a_user_cannot_deactivate_themself(in_northwind: Site, role: str) -> None:
    user = in_northwind.user(role)
    with pytest.raises(CannotDeactivateSelf):
        services.deactivate_user(user, acting_user=user)
    assert User.objects.get(pk=user.pk).is_active


def test_deactivation_keeps_the_user_and_reactivation_restores_them(in_northwind: Site) -> None:
    admin, agent = in_northwind.user("admin"), in_northwind.user("agent")
    before = User.objects.filter(pk=agent.pk).values().get()
    services.deactivate_user(agent, acting_user=admin)
    # Nothing changes but the flag, and the count that ends the user's sessions.
    ended = before["session_epoch"] + 1
    assert User.objects.filter(pk=agent.pk).values().get() == {
        **before,
        "is_active": False,
        "session_epoch": ended,
    }
    with pytest.raises(AlreadyDeactivated):
        services.deactivate_user(agent, acting_user=admin)
    services.reactivate_user(agent, acting_user=admin)
    assert User.objects.filter(pk=agent.pk).values().get() == {**before, "session_epoch": ended}
    with pytest.raises(AlreadyActive):
        services.reactivate_user(agent, acting_user=admin)


def test_agents_cannot_deactivate_anyone(in_northwind: Site) -> None:
    with pytest.raises(NotAllowed):
        services.deactivate_user(in_northwind.user("admin"), acting_user=in_northwind.user("agent"))


@pytest.mark.parametrize("actor_role", ["primary", "super"])
def test_primary_contact_transfer(in_northwind: Site, actor_role: str) -> None:
    old, new = in_northwind.user("primary"), in_northwind.user("agent")
    services.transfer_primary_contact(new, acting_user=in_northwind.user(actor_role))
    assert list(User.objects.filter(is_primary_contact=True).values_list("pk", flat=True)) == [
        new.pk
    ]
    old.refresh_from_db()
    assert old.is_super_admin and old.is_active  # keeps their other roles


@pytest.mark.parametrize("actor_role", ["admin", "agent"])
def test_only_full_control_transfers_the_primary_contact(
    in_northwind: Site, actor_role: str
) -> None:
    with pytest.raises(SuperAdminRightsRequired):
        services.transfer_primary_contact(
            in_northwind.user("agent"), acting_user=in_northwind.user(actor_role)
        )
    assert User.objects.get(is_primary_contact=True).pk == in_northwind.user_ids["primary"]


def test_primary_contact_cannot_go_to_a_deactivated_user_or_to_themself(in_northwind: Site) -> None:
    primary = in_northwind.user("primary")
    with pytest.raises(UserInactive):
        services.transfer_primary_contact(in_northwind.user("inactive"), acting_user=primary)
    with pytest.raises(AlreadyPrimaryContact):
        services.transfer_primary_contact(primary, acting_user=primary)
    assert User.objects.get(is_primary_contact=True).pk == primary.pk


def test_the_database_allows_one_active_primary_contact_only(in_northwind: Site) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=in_northwind.user_ids["agent"]).update(is_primary_contact=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=in_northwind.user_ids["primary"]).update(is_active=False)


def test_invite_adds_a_user_without_password_and_emails_a_link_after_commit(
    in_northwind: Site,
) -> None:
    user = services.invite_user(
        organisation=in_northwind.organisation,
        email="  New.Person@Northwind.TEST ",
        full_name="New Person",
        is_administrator=True,
        acting_user=in_northwind.user("admin"),
    )
    assert mail.outbox == []  # queued in the change's transaction; a worker sends it
    assert [email["to"] for email in queued_emails()] == [["new.person@northwind.test"]]
    assert user.email == "new.person@northwind.test"
    assert user.is_administrator and not user.is_super_admin
    assert not is_password_usable(user.password)
    assert EmailAddress.objects.filter(user=user, email=user.email, verified=True).exists()
    [message] = send_queued_emails()
    assert message.to == ["new.person@northwind.test"]
    assert "http://northwind.localhost:8000/accounts/password/reset/key/" in message.body


def test_invite_refuses_bad_and_duplicate_addresses(in_northwind: Site) -> None:
    admin = in_northwind.user("admin")
    count = User.objects.count()
    with pytest.raises(InvalidEmail):
        services.invite_user(
            organisation=in_northwind.organisation, email="not-an-email", acting_user=admin
        )
    with pytest.raises(UserAlreadyExists):
        services.invite_user(
            organisation=in_northwind.organisation, email="AGENT@northwind.test", acting_user=admin
        )
    assert User.objects.count() == count


@pytest.mark.parametrize("actor_role", ["admin", "agent"])
def test_only_full_control_invites_a_super_admin(in_northwind: Site, actor_role: str) -> None:
    with pytest.raises((SuperAdminRightsRequired, NotAllowed)):
        services.invite_user(
            organisation=in_northwind.organisation,
            email="boss@northwind.test",
            is_super_admin=True,
            acting_user=in_northwind.user(actor_role),
        )
    assert not User.objects.filter(email="boss@northwind.test").exists()


def test_departments_are_created_and_renamed_with_unique_names(in_northwind: Site) -> None:
    admin = in_northwind.user("admin")
    billing = services.create_department(name="  Billing   team ", acting_user=admin)
    assert billing.name == "Billing team"
    with pytest.raises(DepartmentNameTaken):
        services.create_department(name="billing TEAM", acting_user=admin)
    with pytest.raises(InvalidDepartmentName):
        services.create_department(name="   ", acting_user=admin)
    renamed = services.rename_department(billing, name="Payments", acting_user=admin)
    assert Department.objects.get(pk=billing.pk).name == renamed.name == "Payments"
    first = Department.objects.order_by("created_at", "id").first()
    assert first is not None
    with pytest.raises(DepartmentNameTaken):
        services.rename_department(first, name="payments", acting_user=admin)


def test_agents_cannot_create_or_rename_departments(in_northwind: Site) -> None:
    agent = in_northwind.user("agent")
    department = Department.objects.get()
    with pytest.raises(NotAllowed):
        services.create_department(name="Shadow IT", acting_user=agent)
    with pytest.raises(NotAllowed):
        services.rename_department(department, name="Mine now", acting_user=agent)
    assert Department.objects.get().name == department.name
