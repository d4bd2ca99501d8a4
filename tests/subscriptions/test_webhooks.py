"""The payment provider's webhook (/webhooks/stripe/ on the public site): a forged signature
refused with nothing kept; a verified event kept once by its id and processed once by its
job (a replay changes nothing); a dispute audited and the payments contact told."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import requests
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context
from procrastinate.contrib.django.models import ProcrastinateJob

from audit.models import AuditEvent
from subscriptions.models import Payment, ProviderEvent
from subscriptions.services import plan_changes
from subscriptions.stripe_gateway import client
from subscriptions.tasks import process_payment_event
from tests.conftest import Site, queued_emails

URL = "/webhooks/stripe/"
SECRET = "whsec_test_portal"


@pytest.fixture(autouse=True)
def _webhook_secret(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def _signed(payload: str, secret: str = SECRET) -> str:
    """The ``Stripe-Signature`` header as the provider computes it."""
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def _send(event: dict[str, Any], signature: str | None = None) -> int:
    payload = json.dumps(event)
    headers = {"Stripe-Signature": signature if signature is not None else _signed(payload)}
    client = Client(HTTP_HOST="localhost")
    response = client.post(URL, payload, content_type="application/json", headers=headers)
    return response.status_code


def _dispute(payment_intent: str, event_id: str = "evt_dispute_1") -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "charge.dispute.created",
        "data": {
            "object": {
                "id": "dp_1",
                "object": "dispute",
                "payment_intent": payment_intent,
                "amount": 13200,
                "currency": "jpy",
                "reason": "fraudulent",
            }
        },
    }


def _jobs() -> list[ProcrastinateJob]:
    return list(ProcrastinateJob.objects.filter(task_name=process_payment_event.name))


@pytest.mark.parametrize(
    "signature",
    ["", "t=1,v1=deadbeef", None],
    ids=["none", "forged", "another-secret"],
)
def test_an_event_that_does_not_verify_is_refused_and_nothing_kept(
    db: None, signature: str | None
) -> None:
    event = _dispute("pi_nothing")
    if signature is None:
        signature = _signed(json.dumps(event), secret="whsec_someone_else")
    assert _send(event, signature) == 400
    assert not ProviderEvent.objects.exists()
    assert _jobs() == []


def test_without_a_secret_there_is_no_webhook(db: None, settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert _send(_dispute("pi_nothing")) == 404


def test_a_dispute_is_kept_once_processed_once_audited_and_staff_told(northwind: Site) -> None:
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None)
    Payment.objects.filter(
        organisation=northwind.organisation, reference__startswith="recorded-"
    ).update(reference="pi_disputed")
    event = _dispute("pi_disputed")

    assert _send(event) == 200
    assert _send(event) == 200  # the provider sends it again: nothing new
    [kept] = ProviderEvent.objects.all()
    assert (kept.event_id, kept.type, kept.processed_at) == (
        "evt_dispute_1",
        "charge.dispute.created",
        None,
    )
    [job] = _jobs()

    process_payment_event(**job.args)  # as the worker runs it
    process_payment_event(**job.args)  # a retry changes nothing
    kept.refresh_from_db()
    assert kept.outcome == "staff told" and kept.processed_at is not None
    [audited] = AuditEvent.objects.filter(action="payment.disputed")
    assert audited.organisation == northwind.organisation
    assert audited.after["reason"] == "fraudulent"
    [told] = [
        email for email in queued_emails() if email["to"] == [settings.PAYMENTS_CONTACT_EMAIL]
    ]
    assert "dp_1" in told["body"] and "Northwind" in told["subject"]


def test_kinds_the_portal_does_not_act_on_are_kept_and_ignored(db: None) -> None:
    event = {"id": "evt_other", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    assert _send(event) == 200
    [job] = _jobs()
    process_payment_event(**job.args)
    assert ProviderEvent.objects.get().outcome == "ignored"


@pytest.mark.real_clock  # the provider signs with its own clock, which the tests' cannot move
@pytest.mark.django_db(transaction=True)
def test_the_local_provider_posts_signed_events_that_are_kept(
    live_server: Any, stripe_payments: str
) -> None:
    """Over real HTTP: the local provider, told where the webhook is, posts the events of a
    payment it took, signed; they are verified and kept, each once."""
    port = live_server.url.rsplit(":", 1)[1]
    endpoint = {"url": f"http://localhost:{port}{URL}", "secret": SECRET}
    assert requests.post(f"{stripe_payments}/_config/webhooks/portal", data=endpoint).ok
    method = client().v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4242424242424242", "exp_month": 1,
                                          "exp_year": 2035, "cvc": "123"}}
    )  # fmt: skip
    intent = client().v1.payment_intents.create(
        params={"amount": 1100, "currency": "jpy", "payment_method": method.id, "confirm": True}
    )
    # (Events of earlier tests' payments may still arrive: the provider posts them late.)
    succeeded = ProviderEvent.objects.filter(
        type="payment_intent.succeeded", payload__data__object__id=intent.id
    )
    deadline = time.monotonic() + 20
    while not succeeded.exists():
        assert time.monotonic() < deadline, "no event reached the webhook"
        time.sleep(0.2)
    [kept] = succeeded
    assert kept.payload["type"] == "payment_intent.succeeded"
    assert len(_jobs()) == ProviderEvent.objects.count()  # each kept event queued once
    # Elsewhere the provider posts nowhere the tests listen.
    nowhere = {"url": "http://localhost:9/", "secret": SECRET}
    requests.post(f"{stripe_payments}/_config/webhooks/portal", data=nowhere)


def test_no_organisations_connection_sees_the_providers_events(northwind: Site) -> None:
    """They carry every organisation's payments: on an organisation's schema, none is seen."""
    assert _send(_dispute("pi_anything")) == 200
    assert ProviderEvent.objects.count() == 1  # the public schema: the admin's, the jobs'
    with schema_context(northwind.organisation.schema_name):
        assert ProviderEvent.objects.count() == 0
