"""Stripe behind the payment seam, through Stripe's SDK over real HTTP to the local provider
(localstripe): a test card put on file, an upgrade charged for its invoice's total under a
PaymentIntent, and a declined or missing card that changes nothing."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from audit.models import AuditEvent
from subscriptions.exceptions import AuthenticationRequired, PaymentFailed
from subscriptions.models import (
    Invoice,
    LedgerLine,
    Payment,
    PaymentAccount,
    PlanChange,
    Subscription,
)
from subscriptions.services import collection, plan_changes
from subscriptions.stripe_gateway import client, minor_units
from tests.conftest import Site, confirmation_of, signed_in

pytestmark = pytest.mark.usefixtures("stripe_payments")

VISA = "4242424242424242"
DECLINED_WHEN_CHARGED = "4000000000000341"


def _test_card(site: Site, number: str) -> str:
    out = StringIO()
    call_command("test_card", "--org", site.organisation.slug, "--number", number, stdout=out)
    return out.getvalue()


def _rows(site: Site) -> tuple[object, ...]:
    organisation = site.organisation
    subscription = Subscription.objects.get(organisation=organisation)
    return (
        subscription.plan_id,
        subscription.seats,
        PlanChange.objects.filter(organisation=organisation).count(),
        LedgerLine.objects.filter(organisation=organisation).count(),
        Invoice.objects.filter(organisation=organisation).count(),
    )


def _on_professional(site: Site) -> None:
    """Northwind moved down to Professional (no charge), so that Enterprise is an upgrade."""
    plan_changes.change_plan(site.organisation, "professional", acting_user=None)


def _upgrade(site: Site) -> tuple[int, str]:
    """The Store's upgrade to Enterprise, confirmed as the page shows it."""
    client = signed_in(site, "primary")
    page = client.get("/store/plans/enterprise/").content.decode()
    response = client.post("/store/plans/enterprise/", confirmation_of(page))
    return response.status_code, response.content.decode()


def test_a_test_card_goes_on_file_at_the_provider(northwind: Site) -> None:
    said = _test_card(northwind, VISA)
    account = PaymentAccount.objects.get(organisation=northwind.organisation)
    assert (account.brand, account.last4, account.exp_month, account.exp_year) == (
        "visa",
        "4242",
        12,
        2034,
    )
    assert "visa •••• 4242, expires 12/2034" in said
    customer = client().v1.customers.retrieve(account.customer_id)
    assert customer.invoice_settings is not None
    assert customer.invoice_settings.default_payment_method == account.payment_method_id
    [event] = AuditEvent.objects.filter(action="payment.method_changed")
    assert event.after["last4"] == "4242" and event.organisation == northwind.organisation


def test_an_upgrade_is_paid_by_a_payment_intent_for_its_invoices_total(northwind: Site) -> None:
    _test_card(northwind, VISA)
    _on_professional(northwind)
    status, _page = _upgrade(northwind)
    assert status == 302
    change = PlanChange.objects.get(organisation=northwind.organisation, kind="upgrade")
    invoice = Invoice.objects.get(lines__plan_change=change)
    intent = client().v1.payment_intents.retrieve(change.payment_reference)
    assert intent.status == "succeeded"
    assert (intent.amount, intent.currency) == (minor_units(invoice.total, "JPY"), "jpy")
    assert intent.customer == northwind.organisation.payment_account.customer_id
    # Held while the change was written, captured once it was committed: received, booked
    # against its invoice, which is paid.
    [payment] = Payment.objects.filter(invoice=invoice)
    assert (payment.reference, payment.status, payment.amount) == (
        intent.id,
        "paid",
        invoice.total,
    )
    [received] = LedgerLine.objects.filter(kind="payment", payment__invoice=invoice)
    assert (received.amount, received.payment, received.period_end) == (
        invoice.total,
        payment,
        change.period_end,
    )
    assert _invoice_status(northwind, invoice.number) == "paid"


def _invoice_status(site: Site, number: str) -> str:
    out = StringIO()
    call_command("invoices", "--org", site.organisation.slug, "--format", "json", stdout=out)
    [found] = [doc for doc in json.loads(out.getvalue())["invoices"] if doc["number"] == number]
    return str(found["status"])


def test_a_change_lost_at_its_commit_lets_its_hold_go(
    northwind: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away after the card was held (here: the last write fails as a
    lost connection would): the change is not made, and the provider is told to let the
    money go, so that nothing is taken for it and a second confirmation is the only charge."""
    _test_card(northwind, VISA)
    _on_professional(northwind)
    before = _rows(northwind)
    held: list[str] = []
    hold = collection.Holds.hold

    def then_lost(self: collection.Holds, *args: object, **kwargs: object) -> Payment:
        held.append(hold(self, *args, **kwargs).reference)  # type: ignore[arg-type]
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(collection.Holds, "hold", then_lost)
    with pytest.raises(OperationalError):
        plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None)
    assert _rows(northwind) == before
    assert not Payment.objects.filter(reference__startswith="pi_").exists()
    [reference] = held
    assert client().v1.payment_intents.retrieve(reference).status == "canceled"
    monkeypatch.undo()
    change = plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None)
    assert client().v1.payment_intents.retrieve(change.payment_reference).status == "succeeded"
    assert _reconcile("--org", northwind.organisation.slug)[0] == 0


@pytest.mark.parametrize(
    ("number", "reason"),
    [(DECLINED_WHEN_CHARGED, "the card was declined"), (None, "there is no card on file")],
    ids=["declined", "no-card"],
)
def test_a_payment_refused_changes_nothing(
    northwind: Site, number: str | None, reason: str
) -> None:
    if number is not None:
        _test_card(northwind, number)
    _on_professional(northwind)
    before = _rows(northwind)
    status, page = _upgrade(northwind)
    assert status == 402
    assert reason in page
    assert 'data-testid="test-mode"' in page  # a page that takes money says it is a test
    assert _rows(northwind) == before
    # The page asks for a card first exactly when there is none.
    assert ('data-testid="needs-card"' in page) is (number is None)


def test_test_cards_are_refused_outside_test_mode(northwind: Site, settings) -> None:
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_SECRET_KEY = "sk_live_example"
    with pytest.raises(CommandError, match="test mode only"):
        _test_card(northwind, VISA)
    assert not PaymentAccount.objects.exists()


def _reconcile(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("reconcile_payments", *args, stdout=out)
    except CommandError as error:
        return 1, out.getvalue() + str(error)
    return 0, out.getvalue()


def test_reconciliation_is_clean_after_a_payment_and_names_one_made_behind_its_back(
    northwind: Site,
) -> None:
    _test_card(northwind, VISA)
    _on_professional(northwind)
    assert _upgrade(northwind)[0] == 302
    assert _reconcile("--org", northwind.organisation.slug) == (
        0,
        "Clean: 1 payment(s) match the provider.\n",
    )

    account = PaymentAccount.objects.get(organisation=northwind.organisation)
    behind = client().v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "jpy",
            "customer": account.customer_id,
            "payment_method": account.payment_method_id,
            "confirm": True,
        }
    )
    status, said = _reconcile("--org", northwind.organisation.slug)
    assert status == 1
    assert f"northwind: {behind.id}: taken by the provider (5000 JPY), not in the ledger" in said
    assert "1 difference(s); 1 payment(s) match." in said


def test_the_subscriptions_json_says_the_card_on_file(northwind: Site, contoso: Site) -> None:
    _test_card(northwind, VISA)
    out = StringIO()
    call_command("subscriptions", "--format", "json", stdout=out)
    rows = {row["organisation"]: row for row in json.loads(out.getvalue())}
    assert rows["northwind"]["payment_method"] == {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2034,
    }
    assert rows["contoso"]["payment_method"] is None


THREE_D_SECURE = "4000002500003155"


def test_a_card_that_asks_for_3d_secure_changes_nothing_until_confirmed(
    northwind: Site, contoso: Site
) -> None:
    """The hold waits for the customer (``AuthenticationRequired``, nothing changed); the
    change sent again is paid only with a hold that is this change's: not another
    organisation's, not one never confirmed."""
    _test_card(northwind, THREE_D_SECURE)
    _on_professional(northwind)
    before = _rows(northwind)
    with pytest.raises(AuthenticationRequired) as asked:
        plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None)
    assert _rows(northwind) == before
    waiting = client().v1.payment_intents.retrieve(asked.value.reference)
    assert waiting.status == "requires_action" and asked.value.client_secret

    # Not confirmed by the customer: refused, nothing changed.
    with pytest.raises(PaymentFailed, match="asks for authentication"):
        plan_changes.change_plan(
            northwind.organisation,
            "enterprise",
            acting_user=None,
            authenticated_payment=asked.value.reference,
        )
    # Another organisation's confirmed hold: not this change's.
    _test_card(contoso, VISA)
    _on_professional(contoso)
    theirs = plan_changes.change_plan(contoso.organisation, "enterprise", acting_user=None)
    with pytest.raises(PaymentFailed, match="not this change"):
        plan_changes.change_plan(
            northwind.organisation,
            "enterprise",
            acting_user=None,
            authenticated_payment=theirs.payment_reference,
        )
    assert _rows(northwind) == before
