"""Money in a real browser: an upgrade, then a downgrade, then the billing history and
one invoice, printed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal.models import Organisation
from portal.tenancy import use_public_schema
from subscriptions.models import Invoice, LedgerLine
from tests.browser.test_store import PASSWORD, Shop, sign_in
from tests.conftest import drop_schemas
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(catalogue: None, live_server, settings) -> Iterator[Shop]:
    settings.PORTAL_INVOICE_REGISTRATION_NUMBER = "T7123456789012"
    settings.PORTAL_INVOICE_SELLER = "Helpdesk Portal K.K."
    organisation, _owner = make_organisation("professional", seats=3, slug="seikyu")
    Organisation.objects.filter(pk=organisation.pk).update(name="Seikyu KK")
    port = live_server.url.rsplit(":", 1)[1]
    yield Shop(Organisation.objects.get(pk=organisation.pk), f"http://seikyu.localhost:{port}")
    use_public_schema()
    drop_schemas("org_seikyu")


def test_an_upgrade_a_downgrade_the_billing_history_and_an_invoice(walk, shop: Shop) -> None:
    steps = walk(locale="ja")
    sign_in(steps, shop, "owner@seikyu.test", PASSWORD)
    store = steps.page

    store.goto(shop.url("/store/plans/enterprise/"))
    store.click("[data-testid=confirm]")
    assert "エンタープライズプランになりました" in store.inner_text("main")
    store.goto(shop.url("/store/plans/professional/"))
    store.click("[data-testid=confirm]")
    assert "プロフェッショナルプランになりました" in store.inner_text("main")
    assert shop.plan() == "professional"

    store.goto(shop.url("/store/#billing"))
    history = store.locator("[data-testid=billing-history] tbody tr")
    # The charges (the payments received against their invoices are the invoices' status).
    lines = LedgerLine.objects.filter(organisation=shop.organisation).exclude(kind="payment")
    assert history.count() == lines.count() == 2  # the period, the upgrade; a downgrade is free
    assert "アップグレードの料金" in history.nth(0).inner_text()
    paid = sum(line.amount for line in lines)
    assert store.inner_text("[data-testid=paid-for-period]").startswith(f"¥{paid:,.0f}")
    steps.check("billing-history")

    upgrade = lines.get(kind="upgrade_charge").invoice
    assert upgrade is not None
    history.nth(0).locator("a").click()
    store.wait_for_url(shop.url(f"/store/invoices/{upgrade.number}/"))
    document = store.locator("[data-testid=invoice]")
    assert "適格請求書" in document.inner_text()
    assert "Seikyu KK\u3000御中" in document.inner_text()
    assert store.inner_text("[data-testid=registration-number]") == "T7123456789012"
    assert store.inner_text("[data-testid=invoice-total]") == f"¥{upgrade.total:,.0f}"
    assert store.inner_text("[data-testid=invoice-status]") == "支払済み"  # paid at once
    steps.check("invoice")

    # Printed ("Save as PDF"): the invoice alone, without the site around it.
    store.emulate_media(media="print")
    assert not store.locator(".site-header").is_visible()
    assert not store.locator(".store-header").is_visible()
    assert document.is_visible()
    steps.check("invoice-printed", accessibility=False)
    pdf = steps.folder / "invoice.pdf"
    store.pdf(path=str(pdf))
    assert pdf.stat().st_size > 1000
    assert Invoice.objects.filter(organisation=shop.organisation).count() == 2
    steps.finish()

    steps.for_docs("billing-", ("billing-history", "invoice"))
