"""docs/domain.md's invariants, over random sequences: within one period the refund quotes
never add up to more than was paid (the first payment, discounts included, plus upgrade
charges); and with seat changes, cycle switches and refund decisions too, refunds paid
never exceed charges, per period refunds paid never exceed what was paid tax included nor
the tax returned the tax invoiced, and the Store, the admin and the ledger command show the
same sums.
Runs the real services on a real organisation; each example starts a fresh subscription
and is rolled back."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from accounts.models import User
from portal.tenancy import use_public_schema
from subscriptions import proration
from subscriptions.exceptions import SubscriptionError
from subscriptions.models import Invoice, PlanChange, Subscription
from subscriptions.selectors import catalogue, ledger
from subscriptions.services import plan_changes, refunds
from subscriptions.services.subscription import start_subscription
from tests.conftest import harness_transaction
from tests.factories import StaffFactory
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
    with harness_transaction():
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
            period_start=EXAMPLE_START,
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
        assert ledger.paid_for_period(subscription).subtotal == first_payment + charges
        transaction.set_rollback(True)


# Money over random sequences of plan changes, seat changes, cycle switches and refund
# decisions (docs/domain.md, Ledger and invoices).
operations = st.lists(
    st.one_of(
        st.tuples(st.just("plan"), st.sampled_from(PLANS), st.integers(1, 9)),
        # A plan change that also switches the billing cycle.
        st.tuples(st.just("plan+cycle"), st.sampled_from(PLANS), st.integers(1, 9)),
        st.tuples(st.just("seats"), st.integers(1, 12), st.just(0)),
        st.tuples(st.just("cycle"), st.sampled_from(["monthly", "annual"]), st.just(0)),
        st.tuples(st.just("refund"), st.sampled_from(["refunded", "rejected"]), st.just(0)),
    ).flatmap(lambda op: st.tuples(st.just(op), st.integers(min_value=0, max_value=9))),
    min_size=1,
    max_size=8,
)


def _apply(organisation, owner, operation, day) -> None:
    """One step; a refused one changes nothing (the services say why)."""
    (kind, value, seats), _gap = operation
    current = Subscription.objects.select_related("plan").get(organisation=organisation)
    if kind in ("plan", "plan+cycle"):
        other_cycle = "annual" if current.cycle == "monthly" else "monthly"
        plan_changes.change_plan(
            organisation,
            value,
            acting_user=owner,
            seats=None if value == "free" else seats,
            cycle=other_cycle if kind == "plan+cycle" else None,
            today=day,
        )
    elif kind == "seats":
        plan_changes.change_plan(
            organisation, current.plan.code, acting_user=owner, seats=value, today=day
        )
    elif kind == "cycle":
        plan_changes.change_plan(
            organisation, current.plan.code, acting_user=owner, cycle=value, today=day
        )
    else:
        change = (
            PlanChange.objects.filter(
                organisation=organisation, refund_quote__gt=0, refund_request__isnull=True
            )
            .order_by("-id")
            .first()
        )
        if change is None:
            return
        refund = refunds.request_refund(change, acting_user=owner, today=day)
        if value == "refunded":
            refund = refunds.approve_refund(refund, acting_user=None)
            refunds.mark_refunded(refund, acting_user=None, payment_reference="PAY")
        else:
            refunds.reject_refund(refund, acting_user=None, note="No")


def _figure(text: str) -> Decimal:
    """The first amount of a figure ("¥4,800 excl. tax (¥5,280 incl. tax)", "−¥1,200")."""
    found = re.search(r"(\u2212?)[¥$]([\d,]+(?:\.\d+)?)", text)
    assert found, text
    value = Decimal(found.group(2).replace(",", ""))
    return -value if found.group(1) else value


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start_plan=st.sampled_from(PLANS[1:]),
    start_seats=st.integers(min_value=1, max_value=9),
    cycle=st.sampled_from(["monthly", "annual"]),
    steps_taken=operations,
)
@example("standard", 2, "annual", [(("cycle", "monthly", 0), 1), (("refund", "refunded", 0), 0)])
# The day of an upgrade, a downgrade that also switches the cycle: its credit once counted
# that day as unused, and the refund exceeded what was paid.
@example(
    "standard",
    9,
    "monthly",
    [
        (("plan", "enterprise", 9), 0),
        (("plan+cycle", "free", 1), 0),
        (("refund", "refunded", 0), 0),
    ],
)
@example(
    "enterprise",
    5,
    "monthly",
    [(("seats", 2, 0), 3), (("refund", "refunded", 0), 0), (("plan", "free", 1), 2)],
)
def test_refunds_paid_never_exceed_charges_and_every_page_shows_the_same_sums(
    organisation, db, start_plan, start_seats, cycle, steps_taken
) -> None:
    organisation, owner = organisation
    with harness_transaction():
        Subscription.objects.filter(organisation=organisation).delete()
        subscription = start_subscription(
            organisation, plan_code=start_plan, seats=start_seats, cycle=cycle,
            period_start=EXAMPLE_START,
        )  # fmt: skip
        day = EXAMPLE_START
        for operation in steps_taken:
            period_end = Subscription.objects.get(organisation=organisation).period_end
            day = min(day + timedelta(days=operation[1]), period_end)
            try:
                _apply(organisation, owner, operation, day)
            except SubscriptionError:
                continue
        # The ledger command's sums: refunds paid never exceed what was charged.
        out = io.StringIO()
        call_command("ledger", "--org", organisation.slug, "--format", "json", stdout=out)
        shown = [
            account
            for account in json.loads(out.getvalue())["organisations"]
            if account["currency"] == subscription.currency
        ]
        lines = [line for account in shown for line in account["lines"]]
        lines = [line for line in lines if (line["period_start"] or "9") >= str(EXAMPLE_START)]
        charges = sum(
            Decimal(line["amount"])
            for line in lines
            if line["kind"] not in ("refund_paid", "payment")
        )
        paid_back = sum(Decimal(line["amount"]) for line in lines if line["kind"] == "refund_paid")
        assert paid_back <= charges
        _tax_follows_the_money(organisation)
        event(f"refunds paid: {'yes' if paid_back else 'no'}")
        kinds = PlanChange.objects.filter(organisation=organisation).values_list("kind", flat=True)
        event(f"kinds of change: {sorted(set(kinds))}")
        [account] = shown
        assert Decimal(account["balance"]) == Decimal(account["charges"]) - Decimal(
            account["refunds_paid"]
        )
        # The Store and the admin show the period's charges as the command's lines add up.
        # Less the refunds paid of changes made in it.
        now = Subscription.objects.get(organisation=organisation)
        period = [
            Decimal(line["amount"])
            for line in lines
            if line["kind"] not in ("refund_paid", "payment")
            and (line["period_start"], line["period_end"])
            == (now.period_start.isoformat(), now.period_end.isoformat())
        ]
        refunded = [
            Decimal(line["amount"])
            for line in [line for account in shown for line in account["lines"]]
            if line["kind"] == "refund_paid"
            and line["refund_period_end"] == now.period_end.isoformat()
        ]
        expected = sum(period, Decimal(0)) - sum(refunded, Decimal(0))
        client = Client(HTTP_HOST=f"{organisation.slug}.{django_settings.PORTAL_BASE_DOMAIN}")
        with tenant_context(organisation):
            client.force_login(owner)
        store = client.get("/store/").content.decode()
        match = re.search(r'data-testid="paid-for-period">(.*?)</dd>', store)
        assert match and _figure(match.group(1)) == expected
        use_public_schema()  # vendor staff live in the public schema
        staff = Client(HTTP_HOST=django_settings.PORTAL_BASE_DOMAIN)
        staff.force_login(_superuser())
        page = staff.get(f"/admin/portal/organisation/{organisation.pk}/change/")
        assert page.status_code == 200
        found = re.search(r"Paid for this period</th><td>(.*?)</td>", page.content.decode())
        assert found and _figure(found.group(1)) == expected
        transaction.set_rollback(True)


def _tax_follows_the_money(organisation) -> None:
    """Per period (the invoices a return invoice corrects), what went back, tax included,
    never exceeds what those invoices charged, nor the tax returned the tax they invoiced."""
    documents = list(Invoice.objects.filter(organisation=organisation))
    by_number = {document.number: document for document in documents}
    returns = [document for document in documents if document.kind == "return_invoice"]
    for document in returns:
        originals = {original["number"] for original in document.corrects}
        assert originals, f"{document.number} names the invoices it corrects"
        within = [other for other in returns if {o["number"] for o in other.corrects} <= originals]
        paid = [by_number[number] for number in originals]
        assert sum(r.total for r in within) <= sum(i.total for i in paid)
        assert sum(r.tax for r in within) <= sum(i.tax for i in paid)
        event("a refund with its return invoice")


def _superuser():
    user = User.objects.filter(email="invariant-staff@vendor.test").first()
    return user or StaffFactory.create(email="invariant-staff@vendor.test", superuser=True)
