"""The seats in use that the public schema keeps (``Subscription.seats_in_use``) are the
organisation's active users after every change of who is active, written in the same
transaction; and two users added at once for the last seat get one seat between them."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from accounts import services
from accounts.exceptions import SeatsExhausted
from accounts.models import User
from accounts.selectors import count_active_users
from portal.models import Organisation
from portal.tenancy import use_public_schema
from subscriptions.models import Subscription
from subscriptions.services import plan_changes
from tests.conftest import Site, drop_schemas
from tests.subscriptions.conftest import make_organisation


def _kept(organisation: Organisation) -> int:
    return Subscription.objects.get(organisation=organisation).seats_in_use


def _counted(organisation: Organisation) -> int:
    with tenant_context(organisation):
        return count_active_users()


@pytest.mark.django_db
def test_every_change_of_who_is_active_keeps_the_count(northwind: Site) -> None:
    organisation = northwind.organisation
    assert _kept(organisation) == _counted(organisation) == 4
    with schema_context(organisation.schema_name):
        added = services.add_user(email="new@northwind.test", acting_user=None)
    assert _kept(organisation) == _counted(organisation) == 5
    with schema_context(organisation.schema_name):
        services.deactivate_user(added, acting_user=None)
    assert _kept(organisation) == _counted(organisation) == 4
    with schema_context(organisation.schema_name):
        services.reactivate_user(northwind.user("inactive"), acting_user=None)
    assert _kept(organisation) == _counted(organisation) == 5
    keep = [northwind.user_ids[role] for role in ("primary", "super")]
    plan_changes.change_plan(organisation, "free", acting_user=None, keep_user_ids=keep)
    assert _kept(organisation) == _counted(organisation) == 2


@pytest.mark.django_db
def test_a_refused_change_leaves_the_count(northwind: Site) -> None:
    organisation = northwind.organisation
    Subscription.objects.filter(organisation=organisation).update(seats=4)
    with schema_context(organisation.schema_name), pytest.raises(SeatsExhausted):
        services.add_user(email="one-too-many@northwind.test", acting_user=None)
    assert _kept(organisation) == _counted(organisation) == 4


@pytest.fixture
def last_seat(catalogue: None) -> Iterator[Organisation]:
    """An organisation with one free seat (two seats, the primary contact active)."""
    organisation, _owner = make_organisation("standard", seats=2, slug="last-seat")
    yield organisation
    use_public_schema()
    drop_schemas("org_last_seat")


@pytest.mark.django_db(transaction=True)
def test_two_users_added_at_once_for_the_last_seat_get_one(last_seat: Organisation) -> None:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add(email: str) -> None:
        try:
            barrier.wait(timeout=10)
            with schema_context(last_seat.schema_name):
                services.add_user(email=email, acting_user=None)
            outcomes.append("added")
        except SeatsExhausted:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(f"racer{n}@last-seat.test",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["added", "refused"]
    with schema_context(last_seat.schema_name):
        assert User.objects.filter(is_active=True).count() == 2
    assert _kept(last_seat) == 2
