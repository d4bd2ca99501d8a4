"""Dunning (docs/domain.md, Collecting the money), over the local provider through Stripe's
SDK and with an organisation's test clock: a renewal refused makes the subscription past
due, the payment is asked again on the retry days, a card put on file pays at once, and
after the last refusal the organisation falls back to Free, its unpaid invoice void."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from audit.models import AuditEvent
from portal.tenancy import use_public_schema
from subscriptions.models import Invoice, LedgerLine, Subscription
from subscriptions.services.clocks import advance_clock
from tests.conftest import Site, confirmation_of, drop_schemas, queued_emails, signed_in
from tests.subscriptions.conftest import make_organisation
from tests.subscriptions.test_backoffice import staff_client

pytestmark = pytest.mark.usefixtures("stripe_payments")

VISA = "4242424242424242"
DECLINED_WHEN_CHARGED = "4000000000000341"


def _test_card(site: Site, number: str) -> None:
    call_command(
        "test_card", "--org", site.organisation.slug, "--number", number, stdout=StringIO()
    )


def _renewal_day(site: Site) -> date:
    return Subscription.objects.get(organisation=site.organisation).period_end + timedelta(days=1)


def _run(site: Site, day: date) -> list[str]:
    """The organisation's test clock moved to ``day``: the billing run's lines for it."""
    report = advance_clock(site.organisation, day)
    slug = site.organisation.slug
    return [what for who, what in [*report.collected, *report.dunned] if who == slug]


def _json(command: str, *args: str) -> Any:
    out = StringIO()
    call_command(command, *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def _status(site: Site) -> tuple[str, str | None]:
    [row] = [row for row in _json("subscriptions") if row["organisation"] == site.organisation.slug]
    return row["status"], row["past_due_since"]


def _renewal_invoice(site: Site, day: date) -> Invoice:
    return Invoice.objects.get(organisation=site.organisation, kind="invoice", issued_on=day)


def _invoice_statuses(site: Site) -> dict[str, str]:
    found = _json("invoices", "--org", site.organisation.slug)["invoices"]
    return {document["number"]: document["status"] for document in found}


def _emails_about(site: Site, words: str) -> list[dict[str, Any]]:
    return [
        email
        for email in queued_emails()
        if site.email("primary") in email["to"] and words in email["subject"]
    ]


def test_a_refused_renewal_is_past_due_until_a_new_card_pays_it(northwind: Site) -> None:
    _test_card(northwind, DECLINED_WHEN_CHARGED)
    renewal = _renewal_day(northwind)

    said = _run(northwind, renewal)
    invoice = _renewal_invoice(northwind, renewal)
    assert said == [f"invoice {invoice.number} not paid: the card was declined (card_declined)."]
    assert _status(northwind) == ("past_due", renewal.isoformat())
    assert _invoice_statuses(northwind)[invoice.number] == "open"
    # The new period has begun (a paid period is never taken back; this one is unpaid).
    assert Subscription.objects.get(organisation=northwind.organisation).period_start == renewal
    [told] = _emails_about(northwind, "did not go through")
    assert invoice.number in told["body"] and "/store/payment-method/" in told["body"]
    retry = (renewal + timedelta(days=1)).strftime("%Y")
    assert retry in told["body"]
    [event] = AuditEvent.objects.filter(action="payment.failed")
    assert event.after["attempt"] == 1
    assert event.after["next_retry"] == (renewal + timedelta(days=1)).isoformat()

    # Meanwhile the Store says so, and offers only paying or Free.
    client = signed_in(northwind, "primary")
    home = client.get("/store/").content.decode()
    assert 'data-testid="past-due"' in home
    upgrade = client.get("/store/plans/enterprise/", {"seats": "12"}).content.decode()
    assert "not paid yet" in upgrade and 'name="promise"' not in upgrade  # nothing to confirm
    assert 'name="promise"' in client.get("/store/plans/free/").content.decode()

    # The primary contact puts a working card on file: the renewal is paid at once.
    _test_card(northwind, VISA)
    assert _status(northwind) == ("active", None)
    assert _invoice_statuses(northwind)[invoice.number] == "paid"
    assert 'data-testid="past-due"' not in client.get("/store/").content.decode()
    received = LedgerLine.objects.get(kind="payment", payment__invoice=invoice)
    assert received.amount == invoice.total and received.description.startswith("pi_")
    assert AuditEvent.objects.filter(action="payment.recovered").count() == 1
    # The retry day comes and finds nothing to do.
    assert _run(northwind, renewal + timedelta(days=1)) == []
    out = StringIO()
    call_command("reconcile_payments", "--org", northwind.organisation.slug, stdout=out)
    assert out.getvalue().startswith("Clean:")


def _most_recently_active(site: Site, role: str) -> None:
    with schema_context(site.organisation.schema_name):
        User.objects.filter(pk=site.user_ids[role]).update(last_login=timezone.now())


def test_a_dunning_run_to_the_end_falls_back_to_free(northwind: Site) -> None:
    """Refused on the renewal day and on each retry day (1, 3, 5, 7 after it): then Free,
    nothing deleted, the keep-list by the stated rule, the unpaid invoice void with its
    return invoice, the customer told."""
    _test_card(northwind, DECLINED_WHEN_CHARGED)
    _most_recently_active(northwind, "agent")  # kept after the primary contact and super admin
    renewal = _renewal_day(northwind)
    assert _run(northwind, renewal)[0].endswith("not paid: the card was declined (card_declined).")
    invoice = _renewal_invoice(northwind, renewal)
    for days in (1, 2, 3, 4, 5, 6):
        said = _run(northwind, renewal + timedelta(days=days))
        if days in (1, 3, 5):
            assert said == [
                f"invoice {invoice.number} not paid: the card was declined (card_declined)."
            ]
        else:
            assert said == []  # not a retry day
        assert _status(northwind)[0] == "past_due"
    said = _run(northwind, renewal + timedelta(days=7))
    assert said == [
        f"invoice {invoice.number} not paid: the card was declined (card_declined).",
        "moved to Free after the last refused payment",
    ]
    subscription = Subscription.objects.get(organisation=northwind.organisation)
    assert (subscription.plan.code, subscription.past_due_since) == ("free", None)
    assert _status(northwind) == ("active", None)
    # Five attempts, five refusals emailed; the last one says what happens next.
    refusals = _emails_about(northwind, "did not go through")
    assert len(refusals) == 5 and "moves to the Free plan" in refusals[-1]["body"]
    [told] = _emails_about(northwind, "moved to the Free plan")
    assert "Nothing was deleted" in told["body"]
    # Void, with the return invoice that cancels it; nothing was received, nothing refunded.
    statuses = _invoice_statuses(northwind)
    assert statuses[invoice.number] == "void"
    returned = Invoice.objects.get(voids=invoice)
    assert (returned.kind, returned.total, returned.corrects[0]["number"]) == (
        "return_invoice",
        invoice.total,
        invoice.number,
    )
    assert not LedgerLine.objects.filter(kind="payment", payment__invoice=invoice).exists()
    [change] = subscription.organisation.plan_changes.filter(to_plan__code="free")
    assert change.refund_quote == 0 and change.amount_due == 0
    # Who keeps a seat: the primary contact, the super admin, the most recently active.
    with schema_context(northwind.organisation.schema_name):
        active = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
        assert User.objects.count() == 5  # nothing deleted
    assert active == {northwind.user_ids[role] for role in ("primary", "super", "agent")}
    [event] = AuditEvent.objects.filter(action="subscription.fell_back_to_free")
    assert event.after["deactivated_user_ids"] == [northwind.user_ids["admin"]]
    # The ledger's sums: the voided period charged nothing.
    [account] = _json("ledger", "--org", northwind.organisation.slug)["organisations"]
    voided = [line for line in account["lines"] if line["kind"] == "voided"]
    assert [line["invoice"] for line in voided] == [returned.number]
    out = StringIO()
    call_command("reconcile_payments", "--org", northwind.organisation.slug, stdout=out)
    assert out.getvalue().startswith("Clean:")


def test_moving_to_free_while_past_due_voids_the_unpaid_renewal(northwind: Site) -> None:
    _test_card(northwind, DECLINED_WHEN_CHARGED)
    renewal = _renewal_day(northwind)
    _run(northwind, renewal)
    invoice = _renewal_invoice(northwind, renewal)
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/free/").content.decode()
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    form = confirmation_of(page, keep=keep)
    response = client.post("/store/plans/free/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _status(northwind) == ("active", None)
    assert _invoice_statuses(northwind)[invoice.number] == "void"
    change = Subscription.objects.get(organisation=northwind.organisation).organisation
    [made] = change.plan_changes.filter(to_plan__code="free")
    assert made.refund_quote == 0  # an unpaid period has nothing to refund


def _past_due(site: Site) -> Invoice:
    _test_card(site, DECLINED_WHEN_CHARGED)
    renewal = _renewal_day(site)
    _run(site, renewal)
    return _renewal_invoice(site, renewal)


def _dunning_url(site: Site) -> str:
    subscription = Subscription.objects.get(organisation=site.organisation)
    return f"/admin/subscriptions/subscription/{subscription.pk}/dunning/"


def test_staff_see_the_past_due_and_extend_retry_or_waive(northwind: Site, contoso: Site) -> None:
    invoice = _past_due(northwind)
    staff = staff_client()
    listing = staff.get("/admin/subscriptions/subscription/", {"past_due": "yes"}).content.decode()
    assert "Northwind" in listing and "Contoso" not in listing
    page = staff.get(_dunning_url(northwind))
    assert page.status_code == 200 and invoice.number in page.content.decode()
    since = Subscription.objects.get(organisation=northwind.organisation).past_due_since
    assert since is not None

    # Extending forgives time: a note is required, and a refusal changes nothing.
    refused = staff.post(_dunning_url(northwind), {"decision": "extend", "days": 3, "note": ""})
    assert refused.status_code == 400 and "Give a note" in refused.content.decode()
    assert Subscription.objects.get(organisation=northwind.organisation).past_due_since == since
    done = staff.post(
        _dunning_url(northwind), {"decision": "extend", "days": 3, "note": "Card on its way"}
    )
    assert done.status_code == 302
    moved = Subscription.objects.get(organisation=northwind.organisation).past_due_since
    assert moved == since + timedelta(days=3)
    [event] = AuditEvent.objects.filter(action="payment.grace_extended")
    assert event.after["note"] == "Card on its way"
    # The first retry now comes a day after the new date.
    assert _run(northwind, since + timedelta(days=1)) == []

    # Retried by staff with a working card now on file (put there behind the schedule).
    call_command(
        "test_card", "--org", "northwind", "--number", VISA, stdout=StringIO()
    )  # pays at once: nothing left to retry
    assert _status(northwind) == ("active", None)
    assert staff.post(_dunning_url(northwind), {"decision": "retry", "days": 7}).status_code == 409

    # Another organisation's unpaid renewal waived: void, the plan kept, paid up.
    unpaid = _past_due(contoso)
    plan = Subscription.objects.get(organisation=contoso.organisation).plan.code
    waived = staff.post(_dunning_url(contoso), {"decision": "waive", "days": 7, "note": "Goodwill"})
    assert waived.status_code == 302
    after = Subscription.objects.get(organisation=contoso.organisation)
    assert (after.plan.code, after.past_due_since, after.paid_value) == (plan, None, 0)
    assert _invoice_statuses(contoso)[unpaid.number] == "void"
    assert AuditEvent.objects.filter(action="payment.waived").count() == 1


def test_only_staff_who_may_change_subscriptions_decide(northwind: Site) -> None:
    _past_due(northwind)
    support = staff_client("Support", email="support@vendor.test")
    answer = support.post(_dunning_url(northwind), {"decision": "retry", "days": 7})
    assert answer.status_code == 403
    assert not AuditEvent.objects.filter(action="payment.retried").exists()
    assert _status(northwind)[0] == "past_due"


@pytest.mark.django_db(transaction=True)
def test_each_step_of_a_dunning_run_commits_on_its_own(
    catalogue: None, stripe_payments: str
) -> None:
    """As the worker runs it, outside any test transaction: the renewal, each refusal and the
    fall back to Free are each committed by their own transaction (a step that needed a
    caller's transaction would fail here, and only here)."""
    organisation, _owner = make_organisation("standard", seats=2, slug="tokusoku")
    try:
        call_command(
            "test_card", "--org", "tokusoku", "--number", DECLINED_WHEN_CHARGED, stdout=StringIO()
        )
        renewal = Subscription.objects.get(organisation=organisation).period_end + timedelta(days=1)
        said = []
        for days in range(8):
            out = StringIO()
            day = renewal + timedelta(days=days)
            call_command(
                "clock", "advance", "--org", "tokusoku", "--to", day.isoformat(), stdout=out
            )
            said.append(out.getvalue())
        assert sum("not paid" in out for out in said) == 5
        assert "moved to Free after the last refused payment" in said[-1]
        subscription = Subscription.objects.get(organisation=organisation)
        assert (subscription.plan.code, subscription.past_due_since) == ("free", None)
        assert AuditEvent.objects.filter(action="subscription.fell_back_to_free").count() == 1
    finally:
        use_public_schema()
        drop_schemas("org_tokusoku")
