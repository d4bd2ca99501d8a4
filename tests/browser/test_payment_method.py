"""The card on file, in a real browser (Japanese): the provider's card form (the local
provider's stand-in for Stripe.js, over real HTTP), a card entered there and kept as brand,
last four digits and expiry; the page checked for accessibility and console errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal.tenancy import use_public_schema
from subscriptions.models import PaymentAccount
from tests.browser.test_store import Shop, sign_in
from tests.conftest import drop_schemas
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(catalogue: None, live_server) -> Iterator[Shop]:
    organisation, _owner = make_organisation("professional", seats=3, slug="shiharai")
    port = live_server.url.rsplit(":", 1)[1]
    yield Shop(organisation, f"http://shiharai.localhost:{port}")
    use_public_schema()
    drop_schemas("org_shiharai")


def test_a_card_entered_in_the_providers_form_goes_on_file(
    walk, shop: Shop, stripe_payments: str
) -> None:
    steps = walk(locale="ja")
    sign_in(steps, shop, "owner@shiharai.test")
    page = steps.page
    page.goto(shop.url("/store/payment-method/"))
    assert "テストモード" in page.inner_text("[data-testid=test-mode]")
    fields = page.locator("[data-card-element] input")
    for placeholder, value in (
        ("number", "4242424242424242"),
        ("exp_month", "08"),
        ("exp_year", "31"),
        ("cvc", "123"),
        ("postal_code", "1000001"),
    ):
        fields.and_(page.locator(f"[placeholder={placeholder}]")).fill(value)
    steps.check("payment-method-form")
    page.click("[data-testid=save-card]")
    page.wait_for_selector("[data-testid=card-on-file]")
    assert "4242" in page.inner_text("[data-testid=card-on-file]")
    account = PaymentAccount.objects.get(organisation=shop.organisation)
    assert (account.brand, account.last4, account.exp_month, account.exp_year) == (
        "visa",
        "4242",
        8,
        2031,
    )
    steps.check("payment-method-kept")
