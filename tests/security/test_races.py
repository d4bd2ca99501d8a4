"""Races: additions counted against the plan's limits (accounts.services), in real threads
with their own database connections: they take the subscription's row lock, as plan
changes do, so two at once cannot pass a limit and one made during a downgrade sees the
downgrade. (The form keys' atomic claim: tests/portal/test_idempotency.py; plan changes at
once: tests/subscriptions/test_concurrency.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from accounts.models import Department, User
from accounts.services import add_user, create_department
from portal.exceptions import DomainError
from portal.models import Organisation
from portal.tenancy import use_public_schema
from subscriptions.selectors.entitlements import entitlements_for
from subscriptions.services import plan_changes
from tests.conftest import drop_schemas, harness_transaction, owner_role
from tests.subscriptions.conftest import make_organisation

# Committed data is needed for other connections to see it (the flush afterwards empties
# the public tables; the catalogue fixture puts the plans back).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def organisation(catalogue: None) -> Iterator[tuple[Organisation, User]]:
    organisation, owner = make_organisation("professional", seats=3, slug="race-limits")
    yield organisation, owner
    use_public_schema()
    drop_schemas("org_race_limits")


def _in_threads(org: Organisation, *attempts: Callable[[], object]) -> list[str]:
    """Run each attempt in its own thread and connection, all released at once; what
    each ended with: "done" or the domain error's code."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [""] * len(attempts)

    def run(index: int, attempt: Callable[[], object]) -> None:
        try:
            with tenant_context(Organisation.objects.get(pk=org.pk)):
                barrier.wait(timeout=10)
                attempt()
            outcomes[index] = "done"
        except DomainError as error:
            outcomes[index] = error.code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, attempt)) for i, attempt in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_departments_added_at_once_at_the_limit_pass_it_once(organisation) -> None:
    org, owner = organisation
    with tenant_context(org):
        for number in range(Department.objects.count(), 9):  # the first is the organisation's
            create_department(name=f"Team {number}", acting_user=owner)
        assert Department.objects.count() == 9  # Professional allows 10

    outcomes = _in_threads(
        org,
        lambda: create_department(name="North", acting_user=owner),
        lambda: create_department(name="South", acting_user=owner),
    )
    assert sorted(outcomes) == ["done", "limit_reached"]
    with schema_context(org.schema_name):
        assert Department.objects.count() == 10


def test_two_users_added_at_once_for_the_last_seat_take_it_once(organisation) -> None:
    org, owner = organisation
    with tenant_context(org):
        add_user(email="second@race.test", acting_user=owner)  # 2 of 3 seats
    outcomes = _in_threads(
        org,
        lambda: add_user(email="a@race.test", acting_user=owner),
        lambda: add_user(email="b@race.test", acting_user=owner),
    )
    assert sorted(outcomes) == ["done", "seats_exhausted"]
    with schema_context(org.schema_name):
        assert User.objects.filter(is_active=True).count() == 3


def _wait_until_blocked_on_a_lock(count: int = 1) -> None:
    for _ in range(200):
        # Other sessions' waits are shown to their own role and the owner's, not the app's.
        with owner_role(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.05)
    raise AssertionError("the addition never waited for the subscription's lock")


@pytest.mark.parametrize("addition", ["user", "department"])
def test_an_addition_during_a_downgrade_sees_the_downgrade(organisation, addition: str) -> None:
    """The addition's request read the entitlements before the downgrade (3 seats, 10
    departments); it waits for the downgrade's lock and is then checked against Standard
    with 2 seats and one department."""
    org, owner = organisation
    with tenant_context(org):
        add_user(email="second@race.test", acting_user=owner)  # 2 of 3 seats
    outcome: list[str] = []
    read = threading.Event()
    go = threading.Event()

    def add() -> None:
        try:
            thread_org = Organisation.objects.get(pk=org.pk)
            with tenant_context(thread_org):
                entitlements_for(thread_org)  # what the page showed: room for one more
                read.set()
                go.wait(timeout=10)
                if addition == "user":
                    add_user(email="third@race.test", acting_user=owner)
                else:
                    create_department(name="Late", acting_user=owner)
            outcome.append("done")
        except DomainError as error:
            outcome.append(error.code)
        finally:
            connection.close()

    thread = threading.Thread(target=add)
    thread.start()
    assert read.wait(timeout=10)
    with harness_transaction():  # the change's transaction, held open while the other waits
        plan_changes.change_plan(org, "standard", acting_user=owner, seats=2)
        go.set()
        _wait_until_blocked_on_a_lock()
    thread.join(timeout=30)
    assert outcome == ["seats_exhausted" if addition == "user" else "limit_reached"]
    with schema_context(org.schema_name):
        assert User.objects.filter(is_active=True).count() == 2
        assert not Department.objects.filter(name="Late").exists()
