"""The card on file in the Store (/store/payment-method/): the provider's card form on a page
whose Content-Security-Policy lets in the provider's origin and nothing else, the card the
form made kept as brand, last four digits and expiry, a refused card or a forged value
changing nothing; only the subscription's managers see it, and only when payments go
through the provider."""

from __future__ import annotations

from html import escape
from uuid import uuid4

import pytest
from django.conf import settings

from subscriptions.models import PaymentAccount
from subscriptions.stripe_gateway import client
from tests.conftest import Site, signed_in

URL = "/store/payment-method/"


def _form(payment_method: str) -> dict[str, str]:
    """What the page's form sends, with its idempotency key."""
    return {"payment_method": payment_method, "idempotency_key": uuid4().hex}


def _card(number: str) -> str:
    """A payment method made at the provider, as the card form makes it in the browser."""
    method = client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 8, "exp_year": 2031, "cvc": "123"},
        }
    )
    return method.id


def test_the_page_shows_the_card_form_with_the_providers_origin_only(
    northwind: Site, stripe_payments: str
) -> None:
    page = signed_in(northwind, "primary").get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="no-card"' in html and 'data-testid="test-mode"' in html
    assert 'data-client-secret="seti_' in html
    assert f'<script src="{stripe_payments}/js.stripe.com/v3/">' in html
    policy = dict(
        directive.strip().split(" ", 1) for directive in page["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == f"'self' {stripe_payments}"
    assert policy["connect-src"] == f"'self' {stripe_payments}"
    assert policy["frame-src"] == stripe_payments
    assert "unsafe-inline" not in page["Content-Security-Policy"]
    store = signed_in(northwind, "primary").get("/store/")
    assert store["Content-Security-Policy"] == settings.PORTAL_CSP  # other pages: ours only
    assert 'data-testid="payment-method-link"' in store.content.decode()


def test_the_card_the_form_made_is_kept(northwind: Site, stripe_payments: str) -> None:
    client_ = signed_in(northwind, "primary")
    response = client_.post(URL, _form(_card("4242424242424242")))
    assert response.status_code == 302
    account = PaymentAccount.objects.get(organisation=northwind.organisation)
    assert (account.brand, account.last4, account.exp_month, account.exp_year) == (
        "visa",
        "4242",
        8,
        2031,
    )
    html = client_.get(URL).content.decode()
    assert "Visa ending in 4242, expires 08/2031" in html


@pytest.mark.parametrize(
    ("value", "status", "said"),
    [
        ("not-a-card", 400, "The card form sent something else than a card"),
        ("", 400, "Enter the card's details, then save."),
        (None, 402, "The card could not be added"),  # declined when attached
    ],
    ids=["forged", "empty", "declined"],
)
def test_a_refused_card_changes_nothing(
    northwind: Site, stripe_payments: str, value: str | None, status: int, said: str
) -> None:
    sent = _card("4000000000000002") if value is None else value
    response = signed_in(northwind, "primary").post(URL, _form(sent))
    assert response.status_code == status
    assert escape(said) in response.content.decode()
    assert not PaymentAccount.objects.filter(
        organisation=northwind.organisation, payment_method_id__gt=""
    ).exists()


def test_only_the_subscriptions_managers_see_it(northwind: Site, stripe_payments: str) -> None:
    assert signed_in(northwind, "agent").get(URL).status_code == 403
    assert signed_in(northwind, "admin").get(URL).status_code == 403


def test_without_the_provider_there_is_no_card_to_keep(northwind: Site) -> None:
    assert signed_in(northwind, "primary").get(URL).status_code == 404
    assert 'data-testid="payment-method-link"' not in (
        signed_in(northwind, "primary").get("/store/").content.decode()
    )


def test_a_provider_that_cannot_be_reached_is_said_and_changes_nothing(
    northwind: Site, stripe_payments: str, settings
) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    client_ = signed_in(northwind, "primary")
    page = client_.get(URL)
    assert page.status_code == 503
    html = page.content.decode()
    assert "cannot be reached" in html and "data-card-form" not in html
    refused = client_.post(URL, _form("pm_1234567890"))
    assert refused.status_code == 503
    assert not PaymentAccount.objects.exists()


def test_a_card_the_provider_does_not_know_is_refused(
    northwind: Site, stripe_payments: str
) -> None:
    response = signed_in(northwind, "primary").post(URL, _form("pm_unknown123"))
    assert response.status_code == 402
    assert "the provider knows no such card" in response.content.decode()
    assert not PaymentAccount.objects.filter(payment_method_id__gt="").exists()
