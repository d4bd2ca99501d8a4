"""The card on file, in a real browser (Japanese): the provider's card form (the local
provider's stand-in for Stripe.js, over real HTTP), a card entered there and kept as brand,
last four digits and expiry; an upgrade confirmed with 3-D Secure in the page; the pages
checked for accessibility and console errors."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command

from portal.tenancy import use_public_schema
from subscriptions.models import Payment, PaymentAccount
from subscriptions.stripe_gateway import client
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


THREE_D_SECURE = "4000002500003155"


def test_an_upgrade_whose_card_asks_for_3d_secure_is_confirmed_in_the_page(
    walk, shop: Shop, stripe_payments: str
) -> None:
    """The card on file asks its holder to confirm (3-D Secure): the Store's confirmation
    opens the bank's window (the local provider's stand-in), and once confirmed the upgrade
    is made and paid with that payment; declining it changes nothing."""
    call_command("test_card", "--org", "shiharai", "--number", THREE_D_SECURE, stdout=StringIO())
    steps = walk(locale="ja")
    sign_in(steps, shop, "owner@shiharai.test")
    page = steps.page

    # Declined at the bank: nothing changes, and the page says why.
    page.goto(shop.url("/store/plans/enterprise/"))
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=authenticate]")
    assert "3Dセキュア" in page.inner_text("main")
    page.get_by_role("button", name="Fail authentication").click()
    page.wait_for_selector("[data-authenticate-error]:not([hidden])")
    assert "認証されなかった" in page.inner_text("[data-authenticate-error]")
    assert shop.plan() == "professional"
    assert not Payment.objects.filter(reference__startswith="pi_").exists()

    # Confirmed at the bank: the change is made, paid with the payment confirmed.
    page.goto(shop.url("/store/plans/enterprise/"))
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=authenticate]")
    steps.check("three-d-secure", accessibility=False)  # the bank's window is the provider's
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(shop.url("/store/changes/*/"))
    assert "エンタープライズ" in page.inner_text("main")
    assert shop.plan() == "enterprise"
    [payment] = Payment.objects.filter(reference__startswith="pi_")
    assert (payment.status, payment.invoice.status) == ("paid", "paid")
    assert client().v1.payment_intents.retrieve(payment.reference).status == "succeeded"
