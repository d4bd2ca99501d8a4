"""Concurrent plan changes on one organisation, in real threads with their own
database connections: they are serialised by the subscription's row lock."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest
from django.db import connection

from accounts.models import User
from audit.models import AuditEvent
from portal.models import Organisation
from portal.tenancy import use_public_schema
from subscriptions.exceptions import SubscriptionError
from subscriptions.models import PlanChange, Subscription
from subscriptions.services import plan_changes
from tests.conftest import drop_schemas
from tests.subscriptions.conftest import make_organisation

# Committed data is needed for other connections to see it (the flush afterwards empties
# the public tables; the catalogue fixture puts the plans back).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def racing(catalogue: None) -> Iterator[tuple[Organisation, object]]:
    organisation, owner = make_organisation("enterprise", seats=5, slug="race-plan")
    yield organisation, owner
    use_public_schema()
    drop_schemas("org_race_plan")


def _race(organisation: Organisation, owner: User, plans: list[str]) -> list[tuple[str, str]]:
    """Start one change_plan per plan at the same moment; (plan, outcome) in order."""
    barrier = threading.Barrier(len(plans))
    outcomes: list[tuple[str, str]] = [("", "")] * len(plans)

    def attempt(index: int, plan: str) -> None:
        try:
            barrier.wait(timeout=10)
            plan_changes.change_plan(
                Organisation.objects.get(pk=organisation.pk), plan, acting_user=owner
            )
            outcomes[index] = (plan, "applied")
        except SubscriptionError as error:
            outcomes[index] = (plan, error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i, plan)) for i, plan in enumerate(plans)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_the_same_change_from_three_places_applies_once(racing) -> None:
    organisation, owner = racing
    outcomes = _race(organisation, owner, ["professional"] * 3)
    assert sorted(outcome for _plan, outcome in outcomes) == ["applied", "same_plan", "same_plan"]
    assert PlanChange.objects.filter(organisation=organisation).count() == 1
    assert AuditEvent.objects.filter(organisation=organisation, action="plan.changed").count() == 1
    assert Subscription.objects.get(organisation=organisation).plan.code == "professional"


def test_changes_that_depend_on_each_other_end_in_a_consistent_state(racing) -> None:
    organisation, owner = racing
    # Professional → Standard is allowed only after Enterprise → Professional applied.
    outcomes = dict(_race(organisation, owner, ["professional", "standard"]))
    assert outcomes["professional"] == "applied"
    assert outcomes["standard"] in {"applied", "transition_needs_step"}
    changes = list(PlanChange.objects.filter(organisation=organisation).order_by("id"))
    applied = [plan for plan, outcome in outcomes.items() if outcome == "applied"]
    assert len(changes) == len(applied)
    assert AuditEvent.objects.filter(
        organisation=organisation, action="plan.changed"
    ).count() == len(changes)
    subscription = Subscription.objects.get(organisation=organisation)
    assert subscription.plan_id == changes[-1].to_plan_id  # the last applied change wins
    for earlier, later in itertools.pairwise(changes):
        assert later.from_plan_id == earlier.to_plan_id  # each saw the one before
