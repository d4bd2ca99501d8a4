"""The ledger: every money movement is a line written with its change, append-only, and
every "paid" figure is a sum of lines (docs/domain.md, Ledger and invoices)."""

from __future__ import annotations

import importlib
import json
from contextlib import nullcontext
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from subscriptions.models import Invoice, LedgerLine, Subscription
from subscriptions.selectors import ledger
from subscriptions.services import plan_changes, refunds
from subscriptions.services.subscription import start_subscription
from tests.conftest import Site, owner_role, signed_in
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db

# The app role's privileges refuse it; the owner's statement reaches the triggers, which do.
BY_ROLE = pytest.mark.parametrize(
    ("owner", "refusal"),
    [(False, "permission denied"), (True, "append-only")],
    ids=["app", "owner"],
)


def _lines(organisation) -> list[tuple[str, Decimal]]:
    """The organisation's charges, credits and refunds (the payments received against its
    invoices are lines too: ``_received``)."""
    lines = LedgerLine.objects.filter(organisation=organisation).exclude(kind="payment")
    return [(line.kind, line.amount) for line in lines.order_by("id")]


def _received(organisation) -> list[tuple[str, Decimal]]:
    lines = LedgerLine.objects.filter(organisation=organisation, kind="payment")
    return [
        (Invoice.objects.get(payments__ledger_lines=line).number, line.amount)
        for line in lines.order_by("id")
    ]


def test_a_paid_plan_starts_with_its_period_charge_and_free_with_nothing() -> None:
    paid, _owner = make_organisation("professional", seats=3)
    subscription = Subscription.objects.get(organisation=paid)
    assert _lines(paid) == [("period_charge", Decimal("12600.00"))]  # ¥4,200 × 3 seats
    line = LedgerLine.objects.get(organisation=paid, kind="period_charge")
    # Staff start a subscription for what was paid already: its invoice is paid.
    invoice = Invoice.objects.get(lines=line)
    assert invoice.status == "paid"
    assert _received(paid) == [(invoice.number, invoice.total)]
    assert (line.booked_on, line.period_start, line.period_end) == (
        subscription.period_start,
        subscription.period_start,
        subscription.period_end,
    )
    free, _owner = make_organisation("free")
    assert _lines(free) == []


def test_an_upgrade_is_charged_and_paid_for_the_period_adds_it_up(northwind: Site) -> None:
    """The new user's finding: after an upgrade charge the Store still showed only the
    period's first payment."""
    organisation = northwind.organisation
    plan_changes.change_plan(organisation, "professional", acting_user=None, seats=10)
    subscription = Subscription.objects.get(organisation=organisation)
    first = ledger.paid_for_period(subscription).subtotal
    change = plan_changes.change_plan(
        organisation, "enterprise", acting_user=None, today=subscription.period_start
    )
    assert change.amount_due > 0
    assert _lines(organisation)[-1] == ("upgrade_charge", change.amount_due)
    subscription.refresh_from_db()
    assert ledger.paid_for_period(subscription).subtotal == first + change.amount_due
    page = signed_in(northwind, "primary").get("/store/").content.decode()
    figure = f"¥{first + change.amount_due:,.0f}"
    assert f'data-testid="paid-for-period">{figure}' in page


def test_a_downgrade_moves_no_money(northwind: Site) -> None:
    before = _lines(northwind.organisation)
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    assert change.refund_quote > 0  # a quote, not money
    assert _lines(northwind.organisation) == before


def test_a_new_cycle_is_charged_less_the_credit_it_uses() -> None:
    organisation, owner = make_organisation("standard", seats=2)  # ¥4,800 a month
    subscription = Subscription.objects.get(organisation=organisation)
    change = plan_changes.change_plan(
        organisation, "standard", acting_user=owner, cycle="annual", today=subscription.period_start
    )
    annual = Decimal("1680") * 2 * 12
    credit = annual - change.amount_due
    assert 0 < credit <= Decimal("4800")
    assert _lines(organisation)[1:] == [("period_charge", annual), ("cycle_credit", -credit)]
    subscription.refresh_from_db()
    # The new period: the year, less the unused month carried into it.
    assert ledger.paid_for_period(subscription).subtotal == change.amount_due
    [account] = ledger.accounts(organisation)
    assert account.charges == Decimal("4800") + change.amount_due


def test_a_credit_larger_than_the_new_period_is_a_refund_quote_not_a_line() -> None:
    organisation, owner = make_organisation("standard", seats=2, cycle="annual")
    subscription = Subscription.objects.get(organisation=organisation)
    change = plan_changes.change_plan(
        organisation,
        "standard",
        acting_user=owner,
        cycle="monthly",
        today=subscription.period_start + timedelta(days=1),
    )
    monthly = Decimal("2400") * 2
    assert change.amount_due == 0 and change.refund_quote > 0
    assert _lines(organisation)[1:] == [("period_charge", monthly), ("cycle_credit", -monthly)]
    [account] = ledger.accounts(organisation)
    assert account.charges == Decimal("1680") * 2 * 12  # only the year paid at the start


def test_periods_that_ended_are_charged_when_renewed() -> None:
    organisation, owner = make_organisation("standard", seats=1)
    subscription = Subscription.objects.get(organisation=organisation)
    later = subscription.period_end + timedelta(days=40)  # two periods on
    plan_changes.change_plan(organisation, "professional", acting_user=owner, today=later)
    kinds = [kind for kind, _amount in _lines(organisation)]
    assert kinds == ["period_charge", "period_charge", "period_charge", "upgrade_charge"]
    starts = list(
        LedgerLine.objects.filter(organisation=organisation, kind="period_charge")
        .order_by("id")
        .values_list("period_start", flat=True)
    )
    assert starts[0] == subscription.period_start
    assert starts[1] == subscription.period_end + timedelta(days=1)
    assert len(set(starts)) == 3


def test_a_refund_is_money_only_when_marked_refunded(northwind: Site) -> None:
    organisation = northwind.organisation
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    change = plan_changes.change_plan(organisation, "free", acting_user=None, keep_user_ids=keep)
    refund = refunds.request_refund(change, acting_user=northwind.user("primary"))
    staff = StaffFactory.create(permissions=["decide_refundrequest"])
    refunds.approve_refund(refund, acting_user=staff)
    assert not LedgerLine.objects.filter(organisation=organisation, kind="refund_paid").exists()
    refunds.mark_refunded(refund, acting_user=staff, payment_reference="BANK-7")
    line = LedgerLine.objects.get(organisation=organisation, kind="refund_paid")
    assert (line.amount, line.refund_request_id, line.period_start) == (
        refund.amount,
        refund.pk,
        None,
    )
    [account] = ledger.accounts(organisation)
    assert account.refunds_paid == refund.amount
    assert account.balance == account.charges - refund.amount
    assert account.refunds_paid <= account.charges


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE subscriptions_ledgerline SET amount = 1",
        "DELETE FROM subscriptions_ledgerline",
        # As a session that has not been allowed to (the test suite's own flush is).
        "SET LOCAL portal.allow_truncate = 'off'; TRUNCATE subscriptions_ledgerline",
        "SET LOCAL portal.allow_truncate = 'off'; TRUNCATE subscriptions_invoice CASCADE",
    ],
)
@BY_ROLE
def test_the_database_refuses_to_change_or_delete_a_line(
    northwind: Site, statement: str, owner: bool, refusal: str
) -> None:
    before = list(LedgerLine.objects.values())
    assert before
    with (
        owner_role() if owner else nullcontext(),
        pytest.raises(DatabaseError, match=refusal),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert list(LedgerLine.objects.values()) == before


def test_the_ledger_command_shows_the_lines_and_sums(northwind: Site, capsys) -> None:
    organisation = northwind.organisation
    plan_changes.change_plan(organisation, "professional", acting_user=None, seats=10)
    subscription = Subscription.objects.get(organisation=organisation)
    plan_changes.change_plan(
        organisation, "enterprise", acting_user=None, today=subscription.period_start
    )
    call_command("ledger", "--org", organisation.slug, "--format", "json")
    [shown] = json.loads(capsys.readouterr().out)["organisations"]
    [account] = ledger.accounts(organisation)
    assert shown["organisation"] == organisation.slug and shown["currency"] == "JPY"
    # Each charge, and the payment received against its invoice (tax included).
    kinds = [line["kind"] for line in shown["lines"]]
    assert kinds == ["period_charge", "payment", "upgrade_charge", "payment"]
    numbers = [line["invoice"] for line in shown["lines"]]
    assert numbers == [line.document.number if line.document else None for line in account.lines]
    assert all(numbers) and len(set(numbers)) == 2  # each charge on its own invoice
    assert numbers[0] == numbers[1] and numbers[2] == numbers[3]
    invoices = {invoice.number: invoice for invoice in Invoice.objects.filter(number__in=numbers)}
    received = [Decimal(line["amount"]) for line in shown["lines"] if line["kind"] == "payment"]
    assert received == [invoices[numbers[0]].total, invoices[numbers[2]].total]
    assert Decimal(shown["received"]) == sum(received) == account.received
    shown_charges = [line for line in shown["lines"] if line["kind"] != "payment"]
    charges = sum(Decimal(line["amount"]) for line in shown_charges)
    assert Decimal(shown["charges"]) == charges == account.charges
    assert Decimal(shown["refunds_paid"]) == 0
    assert Decimal(shown["balance"]) == Decimal(shown["charges"]) - Decimal(shown["refunds_paid"])
    assert shown["charges"] == str(int(charges))  # JPY has no minor unit
    call_command("ledger", "--org", organisation.slug)
    table = capsys.readouterr().out
    assert "upgrade_charge" in table and f"charges {shown['charges']}" in table


def _described(line: LedgerLine) -> tuple[object, ...]:
    return (
        line.kind,
        line.amount,
        line.plan.code if line.plan else None,
        line.seats,
        line.cycle,
        line.period_start,
        line.period_end,
        line.description,
        line.invoice.subtotal if line.invoice else None,
    )


def test_the_backfill_writes_what_the_services_would_have(northwind: Site) -> None:
    """Organisations from before the ledger get the lines of their current period: the
    same lines, plans and invoices the services write today."""
    organisation = northwind.organisation
    plan_changes.change_plan(organisation, "professional", acting_user=None, seats=10)
    subscription = Subscription.objects.get(organisation=organisation)
    plan_changes.change_plan(
        organisation, "enterprise", acting_user=None, today=subscription.period_start
    )
    charges = LedgerLine.objects.filter(organisation=organisation).exclude(kind="payment")
    written = [_described(line) for line in charges.order_by("id")]
    existing = set(LedgerLine.objects.values_list("pk", flat=True))
    migration = importlib.import_module(
        "subscriptions.migrations.0005_ledger_append_only_and_backfill"
    )
    with connection.schema_editor() as editor:
        migration.backfill(django_apps, editor)
    backfilled = [
        _described(line)
        for line in LedgerLine.objects.filter(organisation=organisation).order_by("id")
        if line.pk not in existing
    ]
    # The period charge was for Enterprise, 10 seats (the organisation's start), and the
    # upgrade back to Enterprise after the downgrade to Professional.
    assert backfilled == written
    assert written[0][2:4] == ("enterprise", 10)


def test_renewals_keep_the_billing_anchor() -> None:
    """A subscription begun on 31 January renews on 28 February, 31 March, 30 April: each
    period charged once, its start counted from the stored anchor."""
    organisation, owner = make_organisation("standard", seats=1)
    Subscription.objects.filter(organisation=organisation).delete()
    anchor = date(2031, 1, 31)
    start = start_subscription(organisation, plan_code="standard", seats=1, period_start=anchor)
    assert start.billing_anchor == anchor
    later = date(2031, 5, 1)
    plan_changes.change_plan(organisation, "professional", acting_user=owner, today=later)
    starts = list(
        LedgerLine.objects.filter(
            organisation=organisation, kind="period_charge", period_start__gte=anchor
        )
        .order_by("period_start")
        .values_list("period_start", flat=True)
    )
    assert starts == [date(2031, 1, 31), date(2031, 2, 28), date(2031, 3, 31), date(2031, 4, 30)]
    now = Subscription.objects.get(organisation=organisation)
    assert (now.period_start, now.period_end) == (date(2031, 4, 30), date(2031, 5, 30))
    assert now.billing_anchor == date(2031, 1, 31)
