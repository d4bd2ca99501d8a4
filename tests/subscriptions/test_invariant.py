"""DOMAIN.md's invariant, over random sequences of plan changes in one period: the
refund quotes never add up to more than was paid (the first payment, discounts
included, plus upgrade charges). Runs the real services on a real organisation; each
example starts a fresh subscription and is rolled back."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from subscriptions import proration
from subscriptions.exceptions import SubscriptionError
from subscriptions.models import PlanChange, Subscription
from subscriptions.selectors import catalogue, ledger
from subscriptions.services import plan_changes
from subscriptions.services.subscription import start_subscription
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db

PLANS = ["free", "standard", "professional", "enterprise"]
# Each example's period starts here, apart from the fixture's own (committed) first period.
EXAMPLE_START = date(2031, 1, 15)

steps = st.lists(
    st.tuples(
        st.sampled_from(PLANS),  # where to go (refused moves are skipped)
        st.integers(min_value=0, max_value=12),  # days after the previous change
        st.integers(min_value=1, max_value=9),  # seats on a paid plan
    ),
    min_size=1,
    max_size=7,
)


@pytest.fixture(scope="module")
def organisation(django_db_setup, django_db_blocker):
    """One organisation (committed) whose subscription each example replaces."""
    with django_db_blocker.unblock():
        return make_organisation("standard", seats=1, slug="invariant")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start_plan=st.sampled_from(PLANS[1:]),
    start_seats=st.integers(min_value=1, max_value=9),
    cycle=st.sampled_from(["monthly", "annual"]),
    currency=st.sampled_from(["JPY", "USD"]),
    discount=st.sampled_from([0, 0, 10, 25, 50, 100]),  # percent off the first payment
    changes=steps,
)
# Cases known to break weaker rules: a downgrade that costs more per day (more seats),
# then Free; a discounted first payment, then a dearer downgrade, then Free.
@example(
    "standard",
    1,
    "monthly",
    "JPY",
    0,
    [("enterprise", 0, 1), ("professional", 0, 2), ("free", 0, 1)],
)
@example("enterprise", 2, "monthly", "USD", 50, [("professional", 1, 2), ("free", 1, 1)])
@example(
    "professional", 3, "annual", "JPY", 0, [("free", 0, 1), ("enterprise", 5, 9), ("free", 5, 1)]
)
def test_refunds_never_exceed_what_was_paid(
    organisation, db, start_plan, start_seats, cycle, currency, discount, changes
) -> None:
    organisation, owner = organisation
    with transaction.atomic():
        # Test set-up: replace the subscription with this example's starting point.
        Subscription.objects.filter(organisation=organisation).delete()
        list_price = proration.cycle_price(
            catalogue.seat_rate(catalogue.get_plan(start_plan), cycle, currency), start_seats, cycle
        )
        first_payment = (list_price * (100 - discount) / 100).quantize(Decimal("0.01"))
        subscription = start_subscription(
            organisation,
            plan_code=start_plan,
            seats=start_seats,
            cycle=cycle,
            currency=currency,
            amount_paid=first_payment,
            today=EXAMPLE_START,
        )
        day = subscription.period_start
        applied = 0
        for plan, gap, seats in changes:
            day = min(day + timedelta(days=gap), subscription.period_end)
            try:
                plan_changes.change_plan(
                    organisation,
                    plan,
                    acting_user=owner,
                    seats=None if plan == "free" else seats,
                    today=day,
                )
            except SubscriptionError:
                continue  # refused moves change nothing
            applied += 1
        made = PlanChange.objects.filter(organisation=organisation)
        assert made.count() == applied
        refunds = sum((c.refund_quote for c in made), Decimal(0))
        charges = sum((c.amount_due for c in made), Decimal(0))
        assert all(c.refund_quote >= 0 and c.amount_due >= 0 for c in made)
        assert all(c.refund_quote == 0 or c.amount_due == 0 for c in made)
        assert refunds <= first_payment + charges
        # The ledger holds exactly that money: the period's charge and the upgrade charges.
        subscription = Subscription.objects.get(organisation=organisation)
        assert ledger.paid_for_period(subscription) == first_payment + charges
        transaction.set_rollback(True)
