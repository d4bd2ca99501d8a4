"""The payment seam (subscriptions/payments.py) through the Store, the admin and the
command: the gateway gets the change's idempotency key, a declined charge changes nothing
and says so, and ``check --deploy`` warns about the record-only gateway. The gateways here
are test doubles of an outside processor, configured as production configures a real one:
by ``SUBSCRIPTIONS_PAYMENT_GATEWAY`` (read on every charge, so the ``settings`` fixture
applies at once)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from django.apps import apps
from django.core import mail
from django.core.cache import caches
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from portal.models import Organisation
from subscriptions import checks
from subscriptions.exceptions import PaymentFailed
from subscriptions.models import LedgerLine, Payment, PlanChange, Subscription
from subscriptions.money import format_amount
from subscriptions.payments import Charge, RecordOnlyGateway
from subscriptions.services import collection, plan_changes
from tests.conftest import Site, confirmation_of, sending_queued_emails, signed_in
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


class RecordingGateway:
    """A processor that honours idempotency keys as Stripe does: the first hold under a
    key holds the money, a hold sent again under it is answered as the first was; a
    capture takes what a hold held, once."""

    calls: ClassVar[list[dict[str, Any]]] = []
    taken: ClassVar[dict[str, Charge]] = {}
    captured: ClassVar[list[str]] = []
    released: ClassVar[list[str]] = []

    def capture(self, reference: str) -> None:
        if reference not in self.captured:
            self.captured.append(reference)

    def release(self, reference: str) -> None:
        self.released.append(reference)

    def hold(
        self,
        *,
        organisation: Organisation,
        amount: Decimal,
        currency: str,
        description: str,
        idempotency_key: str,
        authenticated: str = "",
    ) -> Charge:
        self.calls.append(
            {"organisation": organisation.pk, "amount": amount, "idempotency_key": idempotency_key}
        )
        if idempotency_key not in self.taken:
            self.taken[idempotency_key] = Charge(reference=f"ch_{len(self.taken) + 1}")
        return self.taken[idempotency_key]


class FailingGateway(RecordingGateway):
    """A processor that declines every hold: no money is held or taken."""

    def hold(self, **charge: Any) -> Charge:
        self.calls.append(charge)
        amount = format_amount(charge["amount"], charge["currency"])
        raise PaymentFailed(amount=amount, reason="card declined")


class AnswerLostGateway(RecordingGateway):
    """Holds the money, but its answer never arrives (a timeout): the outcome is unknown
    to the portal."""

    def hold(self, **charge: Any) -> Charge:
        super().hold(**charge)
        raise TimeoutError("no answer from the processor")


def _use(settings: Any, gateway: type[RecordingGateway]) -> None:
    settings.SUBSCRIPTIONS_PAYMENT_GATEWAY = f"{__name__}.{gateway.__name__}"


@pytest.fixture(autouse=True)
def _processor() -> Iterator[None]:
    """Every test starts with a processor that has seen nothing."""
    RecordingGateway.calls = []
    RecordingGateway.taken = {}
    RecordingGateway.captured = []
    RecordingGateway.released = []
    yield


def _keys() -> list[str]:
    return [call["idempotency_key"] for call in RecordingGateway.calls]


def _on_professional(site: Site) -> None:
    """Down from Enterprise today, so that going back up has an amount due."""
    plan_changes.change_plan(site.organisation, "professional", acting_user=None)


def _database(organisation: Organisation) -> dict[str, list[Any]]:
    """Every row of the subscriptions app's tables (subscriptions, plan changes, ledger
    lines, invoices, ...), of the audit log and of the organisation's users."""
    rows: dict[str, list[Any]] = {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for app in ("subscriptions", "audit")
        for model in apps.get_app_config(app).get_models()
    }
    with schema_context(organisation.schema_name):
        rows["accounts.User"] = list(User.objects.order_by("pk").values())
    return rows


def _form_key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page)
    assert match, "the form carries an idempotency key"
    return match.group(1)


def _staff_client() -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(StaffFactory.create(groups=["Billing operations"]))
    return client


def _admin_url(site: Site) -> str:
    return f"/admin/portal/organisation/{site.organisation.pk}/change-plan/"


DECLINED = "could not be taken: card declined"


# --- A declined charge changes nothing, and says so -----------------------------------


def test_a_declined_upgrade_in_the_store_changes_nothing(northwind: Site, settings: Any) -> None:
    _on_professional(northwind)
    _use(settings, FailingGateway)
    client = signed_in(northwind, "primary")
    form = confirmation_of(client.get("/store/plans/enterprise/").content.decode())
    key = form["idempotency_key"]
    before = _database(northwind.organisation)
    with sending_queued_emails():
        response = client.post("/store/plans/enterprise/", form)
    assert response.status_code == 402
    page = response.content.decode()
    assert DECLINED in page and 'data-testid="confirm"' in page  # the page, to try again
    assert _form_key(page) != key  # a new attempt is a new charge at the processor
    assert _keys() == [f"plan-change:{northwind.organisation.pk}:{key}"]
    assert _database(northwind.organisation) == before
    assert mail.outbox == []


def test_a_declined_upgrade_in_the_admin_changes_nothing(northwind: Site, settings: Any) -> None:
    _on_professional(northwind)
    _use(settings, FailingGateway)
    client = _staff_client()
    url = _admin_url(northwind)
    form = confirmation_of(client.get(url, {"plan": "enterprise"}).content.decode())
    key = form["idempotency_key"]
    before = _database(northwind.organisation)
    with sending_queued_emails():
        response = client.post(url, {**form, "plan": "enterprise", "confirm": "1"})
    # The admin answers a POST that changed nothing with its page and the refusal's status.
    assert response.status_code == 402
    assert DECLINED in response.content.decode()
    assert _keys() == [f"plan-change:{northwind.organisation.pk}:{key}"]
    assert _database(northwind.organisation) == before
    assert mail.outbox == []


def test_a_declined_change_deactivates_nobody(northwind: Site, settings: Any) -> None:
    """Annual billing with fewer seats than active users: the change deactivates users
    before it is charged, and the declined charge brings them back."""
    _use(settings, FailingGateway)
    ids = northwind.user_ids
    staff = _staff_client()
    change = {"plan": "enterprise", "cycle": "annual", "seats": "2"}
    page = staff.get(_admin_url(northwind), change).content.decode()
    before = _database(northwind.organisation)
    with sending_queued_emails():
        response = staff.post(
            _admin_url(northwind),
            confirmation_of(page, **change, confirm="1", keep=[ids["primary"], ids["super"]]),
        )
    assert DECLINED in response.content.decode()
    assert len(RecordingGateway.calls) == 1
    assert _database(northwind.organisation) == before
    assert mail.outbox == []


def test_a_declined_upgrade_from_the_command_changes_nothing(
    northwind: Site, settings: Any
) -> None:
    _on_professional(northwind)
    _use(settings, FailingGateway)
    before = _database(northwind.organisation)
    with (
        sending_queued_emails(),
        pytest.raises(CommandError, match=DECLINED),
    ):
        call_command("change_plan", northwind.organisation.slug, "enterprise", stdout=io.StringIO())
    assert len(RecordingGateway.calls) == 1
    assert _database(northwind.organisation) == before
    assert mail.outbox == []


def test_the_same_upgrade_charged_changes_the_database_and_sends_the_email(
    northwind: Site, settings: Any
) -> None:
    """The comparisons above can fail: a charge that goes through changes those rows."""
    _on_professional(northwind)
    _use(settings, RecordingGateway)
    client = signed_in(northwind, "primary")
    form = confirmation_of(client.get("/store/plans/enterprise/").content.decode())
    before = _database(northwind.organisation)
    with sending_queued_emails():
        response = client.post("/store/plans/enterprise/", form)
    assert response.status_code == 302
    after = _database(northwind.organisation)
    for table in (
        "subscriptions.Subscription",
        "subscriptions.PlanChange",
        "subscriptions.LedgerLine",
        "audit.AuditEvent",
    ):
        assert after[table] != before[table], table
    assert len(mail.outbox) == 1


# --- The idempotency key ---------------------------------------------------------------


def test_the_gateway_gets_the_store_s_key_and_a_repeat_is_not_charged_again(
    northwind: Site, settings: Any
) -> None:
    _on_professional(northwind)
    _use(settings, RecordingGateway)
    organisation = northwind.organisation
    client = signed_in(northwind, "primary")
    form = confirmation_of(client.get("/store/plans/enterprise/").content.decode())
    key = form["idempotency_key"]
    first = client.post("/store/plans/enterprise/", form)
    again = client.post("/store/plans/enterprise/", form)
    # Two copies arriving at once both pass the view's memory: the service's guard holds.
    caches["default"].clear()
    third = client.post("/store/plans/enterprise/", form)
    assert first.status_code == again.status_code == third.status_code == 302
    assert first["Location"] == again["Location"] == third["Location"]
    [call] = RecordingGateway.calls
    assert call["idempotency_key"] == f"plan-change:{organisation.pk}:{key}"
    change = PlanChange.objects.get(organisation=organisation, to_plan__code="enterprise")
    # What is charged is the invoice's total: the amount due and its 10% tax.
    [invoice] = {line.invoice for line in LedgerLine.objects.filter(plan_change=change)}
    assert invoice is not None and invoice.subtotal == change.amount_due
    assert invoice.total == change.amount_due + (change.amount_due / 10).quantize(
        Decimal(1), "ROUND_DOWN"
    )
    assert (call["organisation"], call["amount"]) == (organisation.pk, invoice.total)
    assert change.idempotency_key == key
    assert change.payment_reference == "ch_1"  # the processor's reference, kept
    # Held in the change's transaction, taken once it was committed, booked once.
    assert RecordingGateway.captured == ["ch_1"] and RecordingGateway.released == []
    [payment] = Payment.objects.filter(organisation=organisation, reference="ch_1")
    assert (payment.invoice, payment.amount, payment.status) == (invoice, invoice.total, "paid")
    assert invoice.status == "paid"
    charges = LedgerLine.objects.filter(organisation=organisation, plan_change=change)
    assert [line.amount for line in charges] == [change.amount_due]
    received = LedgerLine.objects.filter(organisation=organisation, kind="payment", payment=payment)
    assert [(line.amount, line.document) for line in received] == [(invoice.total, invoice)]


class CaptureLostGateway(RecordingGateway):
    """Holds, but the capture's answer is lost once (the provider unreachable after the
    change was committed)."""

    lost: ClassVar[int] = 0

    def capture(self, reference: str) -> None:
        if CaptureLostGateway.lost == 0:
            CaptureLostGateway.lost += 1
            raise TimeoutError("no answer from the processor")
        super().capture(reference)


def test_a_capture_not_answered_is_taken_by_the_next_billing_run(
    northwind: Site, settings: Any
) -> None:
    """The change is made (the money is held for it); its invoice stays open until the
    capture is answered: ``run_billing`` captures it, once, and books it."""
    _on_professional(northwind)
    _use(settings, CaptureLostGateway)
    CaptureLostGateway.lost = 0
    change = plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None)
    [payment] = Payment.objects.filter(organisation=northwind.organisation, reference="ch_1")
    assert payment.status == "held" and payment.invoice.status == "open"
    assert not LedgerLine.objects.filter(kind="payment", payment=payment).exists()
    assert change.payment_reference == payment.reference
    call_command("run_billing", stdout=io.StringIO())
    call_command("run_billing", stdout=io.StringIO())  # a second run takes nothing more
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.invoice.status == "paid"
    assert RecordingGateway.captured == [payment.reference]
    assert LedgerLine.objects.filter(kind="payment", payment=payment).count() == 1


def test_a_change_that_fails_after_its_hold_lets_the_money_go(
    northwind: Site, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever stops the change once the card was held (here the database at the commit)
    releases the hold: nothing is taken, nothing is kept."""
    _on_professional(northwind)
    _use(settings, RecordingGateway)
    before = _database(northwind.organisation)
    hold = collection.Holds.hold

    def then_lost(self: collection.Holds, *args: Any, **kwargs: Any) -> Payment:
        hold(self, *args, **kwargs)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(collection.Holds, "hold", then_lost)
    with pytest.raises(OperationalError):
        plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None)
    assert RecordingGateway.released == ["ch_1"] and RecordingGateway.captured == []
    assert _database(northwind.organisation) == before


def test_keys_are_scoped_by_organisation(northwind: Site, contoso: Site, settings: Any) -> None:
    """A processor account is shared by every organisation; a caller's key is unique only
    within one. The same key from two organisations is two charges."""
    _use(settings, RecordingGateway)
    for site in (northwind, contoso):
        _on_professional(site)
        plan_changes.change_plan(
            site.organisation, "enterprise", acting_user=None, idempotency_key="same-key"
        )
    assert _keys() == [
        f"plan-change:{northwind.organisation.pk}:same-key",
        f"plan-change:{contoso.organisation.pk}:same-key",
    ]
    assert len(RecordingGateway.taken) == 2


def test_a_change_without_a_key_is_charged_once_however_often_it_is_retried(
    northwind: Site, settings: Any
) -> None:
    """The command gives no key: one is derived from the change, the same for a retry of
    it (here after the processor's answer was lost), another for any later change."""
    _on_professional(northwind)
    organisation = northwind.organisation
    before = _database(organisation)
    _use(settings, AnswerLostGateway)
    with pytest.raises(TimeoutError):  # not a PaymentFailed: money may have moved
        call_command("change_plan", organisation.slug, "enterprise", stdout=io.StringIO())
    assert _database(organisation) == before
    _use(settings, RecordingGateway)
    call_command("change_plan", organisation.slug, "enterprise", stdout=io.StringIO())
    lost, retry = _keys()
    assert lost == retry and lost.startswith(f"plan-change:{organisation.pk}:derived-")
    assert len(RecordingGateway.taken) == 1  # charged once
    change = PlanChange.objects.get(organisation=organisation, to_plan__code="enterprise")
    assert change.payment_reference == "ch_1" and change.idempotency_key is None

    # The same move made again the same day, for the same amount, is another change.
    _on_professional(northwind)
    call_command("change_plan", organisation.slug, "enterprise", stdout=io.StringIO())
    assert len(set(_keys())) == 2 and len(RecordingGateway.taken) == 2
    amounts = {call["amount"] for call in RecordingGateway.calls}
    assert len(amounts) == 1


def test_a_change_with_nothing_due_is_not_charged(northwind: Site, settings: Any) -> None:
    _use(settings, FailingGateway)
    _on_professional(northwind)  # a downgrade: a refund quote, nothing due
    assert RecordingGateway.calls == []
    assert Subscription.objects.get(organisation=northwind.organisation).plan.code == (
        "professional"
    )


# --- The deploy check ------------------------------------------------------------------


def _check_ids(*, deploy: bool = True) -> list[str]:
    return [
        message.id or ""
        for message in run_checks(include_deployment_checks=deploy, tags=[checks.TAG])
    ]


class DemoGateway(RecordOnlyGateway):
    """Still takes no money."""


def test_the_deploy_check_warns_about_a_gateway_that_takes_no_money(settings: Any) -> None:
    settings.DEBUG = False
    assert "subscriptions.W001" in _check_ids()
    settings.SUBSCRIPTIONS_PAYMENT_GATEWAY = f"{__name__}.DemoGateway"
    assert "subscriptions.W001" in _check_ids()
    assert "subscriptions.W001" not in _check_ids(deploy=False)  # a deploy check only
    _use(settings, RecordingGateway)
    assert "subscriptions.W001" not in _check_ids()
    settings.DEBUG = True
    settings.SUBSCRIPTIONS_PAYMENT_GATEWAY = "subscriptions.payments.RecordOnlyGateway"
    assert "subscriptions.W001" not in _check_ids()


def test_the_deploy_check_refuses_a_gateway_that_cannot_be_imported(settings: Any) -> None:
    settings.SUBSCRIPTIONS_PAYMENT_GATEWAY = "subscriptions.payments.NoSuchGateway"
    ids = _check_ids()
    assert "subscriptions.E001" in ids and "subscriptions.W001" not in ids


def test_a_change_that_fails_while_being_written_takes_no_money(
    northwind: Site, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The charge is the change's last step: whatever fails before it (here the last
    step before it) fails before money is taken."""
    _on_professional(northwind)
    _use(settings, RecordingGateway)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the email could not be prepared")

    monkeypatch.setattr(plan_changes.notices, "tell_primary_contact", broken)
    before = _database(northwind.organisation)
    with pytest.raises(RuntimeError):
        plan_changes.change_plan(
            northwind.organisation, "enterprise", acting_user=None, idempotency_key="k"
        )
    assert RecordingGateway.calls == []
    assert _database(northwind.organisation) == before


def test_a_new_cycle_is_charged_exactly_what_its_page_promised(
    northwind: Site, settings: Any
) -> None:
    """The year's invoice less the month's credit on its return invoice, each with its own
    tax: the page says the same figure before anything is charged."""
    _use(settings, RecordingGateway)
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/enterprise/", {"cycle": "annual"}).content.decode()
    promised = re.search(r"You are charged ¥([\d,]+) now", page)
    assert promised, "the page says what is charged now"
    credit = re.search(r'data-testid="credit">\u2212¥([\d,]+), tax included', page)
    assert credit, "the page names the credit the new period uses"
    response = client.post("/store/plans/enterprise/", confirmation_of(page))
    assert response.status_code == 302
    [call] = RecordingGateway.calls
    assert call["amount"] == Decimal(promised.group(1).replace(",", ""))
