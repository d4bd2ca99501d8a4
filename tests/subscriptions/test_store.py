"""The Store through real requests (Django's test client): who may reach it, the
forms, idempotency, CSRF, and query budgets. The browser walk is in tests/browser/."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from fractions import Fraction

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import create_department
from audit.models import AuditEvent
from audit.services import Action
from portal.models import Organisation
from portal.tenancy import use_public_schema
from subscriptions.models import Invoice, Plan, PlanChange, PlanPrice, RefundRequest, Subscription
from subscriptions.proration import cycle_price
from subscriptions.selectors import catalogue, previews
from subscriptions.selectors.offers import store_offers
from subscriptions.services import overrides, plan_changes, refunds
from subscriptions.services.catalogue import record_catalogue_change
from tests.conftest import Site, confirmation_of, on, signed_in
from tests.factories import StaffFactory
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db

STORE_URLS = ["/store/", "/store/plans/", "/store/plans/professional/"]


def _key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page)
    assert match, "the form carries an idempotency key"
    return match.group(1)


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_others_neither_see_the_entry_nor_reach_the_store(northwind: Site, role: str) -> None:
    client = signed_in(northwind, role)
    assert "/store/" not in client.get("/").content.decode()
    for url in STORE_URLS:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "You don't have access to this page" in response.content.decode()
    response = client.post("/store/plans/professional/", {"idempotency_key": "k"})
    assert response.status_code == 403
    assert Subscription.objects.get(organisation=northwind.organisation).plan.code == "enterprise"


@pytest.mark.parametrize("role", ["primary", "super"])
def test_the_account_menu_opens_the_store_in_a_new_tab(northwind: Site, role: str) -> None:
    client = signed_in(northwind, role)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert re.search(
        r'<a class="account-menu__store" href="/store/" target="_blank" rel="noopener">'
        r"サブスクリプション管理",
        page,
    )
    for url in STORE_URLS:
        assert client.get(url).status_code == 200, url


def test_the_store_speaks_the_seed_s_words_in_japanese(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    home = client.get("/store/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "ストア" in home and "プランのアップグレード/ダウングレード" in home
    plans = client.get("/store/plans/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "ダウングレード" in plans and "¥42,000" in plans
    confirm = client.get("/store/plans/professional/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "今すぐ変更" in confirm and "データは削除されません" in confirm


def test_a_refused_transition_is_shown_disabled_with_its_reason(northwind: Site) -> None:
    page = signed_in(northwind, "primary").get("/store/plans/").content.decode()
    standard = page[page.index('data-testid="offer-standard"') :]
    standard = standard[: standard.index("</section>")]
    assert "disabled" in standard and "downgrade to Professional first" in standard
    assert 'href="/store/plans/standard/"' not in page
    confirm = signed_in(northwind, "primary").get("/store/plans/standard/").content.decode()
    assert "downgrade to Professional first" in confirm and 'data-testid="confirm"' not in confirm


def test_confirming_applies_once_however_often_it_is_sent(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    form = confirmation_of(client.get("/store/plans/professional/").content.decode())
    first = client.post("/store/plans/professional/", form)
    again = client.post("/store/plans/professional/", form)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert PlanChange.objects.filter(organisation=northwind.organisation).count() == 1
    result = client.get(first["Location"]).content.decode()
    assert "Your organisation is on the Professional plan" in result
    assert "Request prorated refund" in result


def test_a_post_without_a_key_or_a_csrf_token_changes_nothing(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    response = client.post("/store/plans/professional/", {})
    assert response.status_code == 302
    assert "expired" in client.get(response["Location"]).content.decode()
    strict = Client(HTTP_HOST=northwind.host, enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post("/store/plans/professional/", {"idempotency_key": "abc"}).status_code == 403
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()


def test_choosing_who_stays_active(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/free/").content.decode()
    assert 'name="keep"' in page and "3 seats and 4 users are active" in page
    ids = northwind.user_ids
    # The primary contact always stays: said, not offered as a choice that could fail.
    assert 'data-testid="keep-fixed"' in page and "always stays active" in page
    assert f'type="checkbox" name="keep" value="{ids["primary"]}"' not in page
    assert f'type="hidden" name="keep" value="{ids["primary"]}"' in page  # sent along
    assert "Super admin" in page and "Agent" in page  # each choice says the user's roles
    too_many = [ids["primary"], ids["super"], ids["admin"], ids["agent"]]
    response = client.post("/store/plans/free/", confirmation_of(page, keep=too_many))
    assert response.status_code == 400
    assert "choose at most 3 users" in response.content.decode()
    keep = [ids["primary"], ids["super"], ids["admin"]]
    response = client.post("/store/plans/free/", confirmation_of(page, keep=keep))
    assert response.status_code == 302
    with schema_context(northwind.organisation.schema_name):
        assert not User.objects.get(pk=ids["agent"]).is_active
    assert (
        "1 user was deactivated (not deleted)" in client.get(response["Location"]).content.decode()
    )


def test_feedback_refund_request_and_withdrawal(northwind: Site) -> None:
    client = signed_in(northwind, "super")
    page = client.get("/store/plans/professional/").content.decode()
    result_url = client.post("/store/plans/professional/", confirmation_of(page))["Location"]
    change = PlanChange.objects.get(organisation=northwind.organisation)
    result = client.get(result_url).content.decode()

    response = client.post(
        f"/store/changes/{change.pk}/feedback/",
        {"idempotency_key": _key(result), "reason": "too_expensive", "text": "Budget"},
    )
    assert response.status_code == 302
    change.refresh_from_db()
    assert (change.feedback_reason, change.feedback_text) == ("too_expensive", "Budget")

    result = client.get(result_url).content.decode()
    # Once shared, the form gives way to what was said.
    assert f"/store/changes/{change.pk}/feedback/" not in result
    assert "you told us “Too expensive”" in result and "Budget" in result
    refund_key = re.findall(r'name="idempotency_key" value="([0-9a-f]{32})"', result)[0]
    assert (
        client.post(
            f"/store/changes/{change.pk}/refund/", {"idempotency_key": refund_key}
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"/store/changes/{change.pk}/refund/", {"idempotency_key": refund_key}
        ).status_code
        == 302
    )
    refund = RefundRequest.objects.get(plan_change=change)
    assert refund.status == "pending" and refund.amount == change.refund_quote

    home = client.get("/store/").content.decode()
    assert "Pending" in home and f'href="/store/refunds/{refund.pk}/withdraw/"' in home
    # Withdrawing asks first: a withdrawn request cannot be made again.
    confirm = client.get(f"/store/refunds/{refund.pk}/withdraw/").content.decode()
    assert "Withdraw the refund request?" in confirm and "cannot be made again" in confirm
    refund.refresh_from_db()
    assert refund.status == "pending"
    response = client.post(
        f"/store/refunds/{refund.pk}/withdraw/", {"idempotency_key": _key(confirm)}
    )
    assert response.status_code == 302
    refund.refresh_from_db()
    assert refund.status == "withdrawn"
    home = client.get("/store/").content.decode()
    assert "Withdrawn" in home and "Prorated refund requested" in home
    assert "Plan changed from Enterprise to Professional" in home
    # Asked again, nothing to confirm.
    again = client.get(f"/store/refunds/{refund.pk}/withdraw/", follow=True)
    assert "can no longer be withdrawn" in again.content.decode()


def test_another_organisations_change_or_refund_is_not_found(
    northwind: Site, contoso: Site
) -> None:
    change = plan_changes.change_plan(contoso.organisation, "professional", acting_user=None)
    refund = refunds.request_refund(change, acting_user=contoso.user("primary"))
    client = signed_in(northwind, "primary")
    assert client.get(f"/store/changes/{change.pk}/").status_code == 404
    assert client.get(f"/store/refunds/{refund.pk}/withdraw/").status_code == 404
    response = client.post(f"/store/refunds/{refund.pk}/withdraw/", {"idempotency_key": "k" * 32})
    assert response.status_code == 404
    use_public_schema()  # contoso's rows are not northwind's to see (row-level security)
    refund.refresh_from_db()
    assert refund.status == "pending"


def _card(page: str, code: str) -> str:
    match = re.search(rf'data-testid="offer-{code}">(.*?)</section>', page, re.S)
    assert match, f"the {code} card is shown"
    return match.group(1)


def test_plan_cards_and_the_confirmation_agree_with_an_override(northwind: Site) -> None:
    """Live chat granted to a Professional organisation stays on every plan (overrides
    outlive plan changes): neither the cards nor the confirmation say it is lost."""
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    overrides.grant_override(
        northwind.organisation, "live_chat", acting_user=None, reason="Chat pilot"
    )
    organisation = Organisation.objects.get(pk=northwind.organisation.pk)
    offers = {offer.plan.code: offer for offer in store_offers(organisation)}
    assert set(offers) == {"free", "standard", "enterprise"}
    for code, offer in offers.items():
        preview = previews.preview_plan_change(organisation, code)
        assert [f.code for f in offer.gained] == [f.code for f in preview.features_gained], code
        assert [f.code for f in offer.lost] == [f.code for f in preview.features_lost], code
        assert (offer.kind, offer.seats) == (preview.kind, preview.seats_after), code
        rate = catalogue.seat_rate(offer.plan, preview.to_cycle, preview.currency)
        assert offer.price == cycle_price(rate, preview.seats_after, preview.to_cycle), code
        assert "live_chat" not in {f.code for f in offer.lost}, code
    assert {f.code for f in offers["standard"].lost} >= {"blueprints", "zia"}

    client = signed_in(northwind, "primary")
    cards = client.get("/store/plans/").content.decode()
    standard_card = _card(cards, "standard")
    assert "No longer available:" in standard_card
    assert "Live chat" not in standard_card
    assert "Live chat" not in _card(cards, "enterprise")  # not "gained" either: it is had
    confirmation = client.get("/store/plans/standard/").content.decode()
    assert "will no longer be available" in confirmation
    assert "Live chat will no longer be available" not in confirmation


# The Store page: 10 before the ledger, +1 for "paid for this period", +1 for the billing
# history, +1 for the next bill (the list price), +1 for the change scheduled for the
# period's end, -1 for the seats in use (kept on the subscription, not counted), -2 for the
# host cache (no lookup of the organisation, no search_path switch through public).
# The plans page: the transitions read once for every plan (was a query or two per plan).
# The Store page: the plan names (its activity list) from the shared cache.
# The confirmation of a downgrade: +1 for the period's invoices (the tax on its refund).
# Every page: -1 for the session, read through the cache (portal/sessions.py). The plans
# page: the user and the subscription only, the catalogue (store_catalogue) and the
# organisation's overrides (in its entitlements) from the shared cache (was 8).
@pytest.mark.parametrize(
    ("url", "queries"),
    [("/store/", 9), ("/store/plans/", 2), ("/store/plans/professional/", 11)],
)
def test_store_query_budget_does_not_grow_with_history(
    northwind: Site, django_assert_num_queries, url: str, queries: int
) -> None:
    client = signed_in(northwind, "primary")
    client.get(url)  # warm the entitlements cache, as any earlier page did
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
    for plan in ("professional", "enterprise", "professional", "enterprise"):
        plan_changes.change_plan(northwind.organisation, plan, acting_user=None)
    client.get(url)
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("seats", ["²", "99999999999", "-3", "abc", "0"])
def test_odd_seat_numbers_get_a_message_not_an_error(northwind: Site, seats: str) -> None:
    response = signed_in(northwind, "primary").get("/store/plans/professional/", {"seats": seats})
    assert response.status_code == 200


@pytest.mark.parametrize("seats", ["-3", "0", "50000", "99999999999", "²", "abc", "2.5"])
def test_a_confirmation_with_seats_that_do_not_fit_changes_nothing(
    northwind: Site, seats: str
) -> None:
    """A tampered POST is answered with the page and its error, never applied with
    other seats than those asked for."""
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/professional/").content.decode()
    before = Subscription.objects.values().get(organisation=northwind.organisation)
    response = client.post("/store/plans/professional/", confirmation_of(page, seats=seats))
    assert response.status_code == 400
    assert "message--error" in response.content.decode()
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()
    assert Subscription.objects.values().get(organisation=northwind.organisation) == before


def test_a_plan_without_a_price_in_the_currency_sends_back_to_the_plans(northwind: Site) -> None:
    PlanPrice.objects.filter(plan__code="professional", currency="JPY", cycle="monthly").delete()
    client = signed_in(northwind, "primary")
    response = client.get("/store/plans/professional/")
    assert response.status_code == 302 and response["Location"] == "/store/plans/"
    page = client.get(response["Location"]).content.decode()
    assert "The Professional plan has no Monthly price in JPY yet." in page
    offer = page[page.index('data-testid="offer-professional"') :]
    assert "disabled" in offer[: offer.index("</section>")]


# --- Pages that say what they do (issue 9, point 5) ---------------------------------------

DOWNGRADE_WARNING = "No refund is made automatically"
TAX_NOTE = "Prices exclude tax; beside each, the total with consumption tax"


def _day(day: date) -> str:
    """A date as the English pages write it."""
    with translation.override("en"):
        return date_format(day, "DATE_FORMAT")


def _yen(amount: int) -> str:
    return f"¥{amount:,}"


def _priced(amount: int) -> str:
    """A price as the Store shows it: tax-exclusive, and beside it with 10% tax."""
    if amount == 0:
        return _yen(0)
    return f"{_yen(amount)} excl. tax ({_yen(amount + amount // 10)} incl. tax)"


def _fact(page: str, testid: str) -> str:
    """The text of the element ``testid`` names (its tags left out)."""
    match = re.search(rf'<(\w+)[^>]*data-testid="{testid}">(.*?)</\1>', page, re.S)
    assert match, f"the page shows {testid}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(2))).strip()


def _period(site: Site) -> Subscription:
    return Subscription.objects.get(organisation=site.organisation)


def _on_professional(site: Site) -> Subscription:
    """Northwind moved down to Professional (10 seats, monthly): what it paid for the rest
    of the period is now Professional's price, ¥4,200 × 10."""
    plan_changes.change_plan(site.organisation, "professional", acting_user=None)
    subscription = _period(site)
    assert subscription.paid_value == 4_200 * 10
    return subscription


def test_the_upgrade_confirmation_speaks_of_the_charge_and_the_next_bill(northwind: Site) -> None:
    subscription = _on_professional(northwind)
    # Enterprise, monthly, JPY: ¥6,000 per seat per month, for the 10 seats kept.
    new_price = 6_000 * 10
    days = (subscription.period_end - subscription.period_start).days + 1
    remaining = (subscription.period_end - timezone.localdate()).days
    due = math.ceil(Fraction(new_price - 4_200 * 10) * remaining / days)
    assert due > 0
    next_bill_on = subscription.period_end + timedelta(days=1)

    page = signed_in(northwind, "primary").get("/store/plans/enterprise/").content.decode()

    assert DOWNGRADE_WARNING not in page and "after a downgrade" not in page
    assert 'data-testid="downgrade-notice"' not in page
    notice = _fact(page, "charge-notice")
    tax = due // 10  # 10% consumption tax, rounded down, on the invoice
    assert (
        f"You are charged {_yen(due + tax)} now for the rest of the period "
        f"(until {_day(subscription.period_end)})." in notice
    )
    assert f"That is {_yen(due)} and {_yen(tax)} consumption tax." in notice
    assert f"From {_day(next_bill_on)}, the plan costs {_priced(new_price)} a month." in notice
    assert _fact(page, "new-price") == f"{_priced(new_price)} a month"
    assert _fact(page, "next-bill") == f"{_priced(new_price)} on {_day(next_bill_on)}"
    assert TAX_NOTE in page
    assert "Prorated refund you can request" not in page
    # The seat field starts at the seats the upgrade keeps, and cannot go below them.
    assert 'name="seats" min="10" max="10000" value="10"' in page


@pytest.mark.parametrize(
    ("plan", "seats_after", "new_price"),
    [("professional", 10, 4_200 * 10), ("free", 3, 0)],
)
def test_a_downgrade_confirmation_speaks_of_the_refund_what_is_hidden_and_the_next_bill(
    northwind: Site, plan: str, seats_after: int, new_price: int
) -> None:
    with schema_context(northwind.organisation.schema_name):
        for name in ("Billing", "Returns"):
            create_department(name=name, acting_user=None)
    subscription = _period(northwind)
    days = (subscription.period_end - subscription.period_start).days + 1
    remaining = (subscription.period_end - timezone.localdate()).days
    refund = math.floor(Fraction(subscription.paid_value - new_price) * remaining / days)
    next_bill_on = subscription.period_end + timedelta(days=1)

    page = signed_in(northwind, "primary").get(f"/store/plans/{plan}/").content.decode()

    assert DOWNGRADE_WARNING in _fact(page, "downgrade-notice")
    assert "No data is deleted" in page
    assert 'data-testid="charge-notice"' not in page and "You are charged" not in page
    # With the consumption tax paid on that part of the period's invoice (10%, rounded down).
    tax = refund // 10
    assert _fact(page, "refund-quote") == (
        f"{_yen(refund + tax)}, tax included ({_yen(refund)} and {_yen(tax)} consumption tax)"
    )
    assert _fact(page, "new-price") == f"{_priced(new_price)} a month"
    assert _fact(page, "next-bill") == f"{_priced(new_price)} on {_day(next_bill_on)}"
    assert TAX_NOTE in page
    # Free keeps one department of three: two are hidden, not deleted.
    hidden = "2 of your departments will be hidden (not deleted)"
    assert (hidden in page) == (plan == "free")
    assert f"{subscription.seats} → {seats_after}" in page
    if plan == "professional":  # bought seats: a downgrade keeps them or fewer
        assert 'name="seats" min="1" max="10" value="10"' in page
    else:  # Free's seats are its cap: no field
        assert 'name="seats" min=' not in page


def test_seats_a_downgrade_cannot_have_are_refused_and_the_field_starts_over(
    northwind: Site,
) -> None:
    """More seats on a downgrade is refused with the reason, and the page offers the
    change with the seats it keeps (not a dead end)."""
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/professional/", {"seats": "12"}).content.decode()
    assert "Keep 10 seats when moving to Professional" in page
    assert 'name="seats" min="1" max="10" value="10"' in page
    assert 'data-testid="confirm"' in page
    before = Subscription.objects.values().get(organisation=northwind.organisation)
    response = client.post("/store/plans/professional/", confirmation_of(page, seats="12"))
    assert response.status_code == 400
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()
    assert Subscription.objects.values().get(organisation=northwind.organisation) == before


def test_an_annual_plan_is_priced_by_the_year(db) -> None:
    # Professional, annual, JPY: ¥2,760 per seat per month, paid for 12 months.
    organisation, owner = make_organisation("standard", seats=2, cycle="annual")
    client = Client(HTTP_HOST=f"{organisation.slug}.{settings.PORTAL_BASE_DOMAIN}")
    with schema_context(organisation.schema_name):
        client.force_login(owner)
    page = client.get("/store/plans/professional/").content.decode()
    next_year = Subscription.objects.get(organisation=organisation).period_end + timedelta(days=1)
    assert f"From {_day(next_year)}, the plan costs {_priced(66_240)} a year." in _fact(
        page, "charge-notice"
    )
    assert _fact(page, "new-price") == f"{_priced(66_240)} a year"
    assert _fact(page, "next-bill") == f"{_priced(66_240)} on {_day(next_year)}"


def _reasons(page: str) -> set[str]:
    return set(re.findall(r'<input type="radio" name="reason" value="([a-z_]+)"', page))


UPGRADE_REASONS = {"need_features", "higher_limits", "more_agents", "other"}
DOWNGRADE_REASONS = {
    "too_expensive",
    "unused_features",
    "fewer_agents",
    "temporary",
    "other_product",
    "other",
}


def test_the_upgrade_result_shows_the_charge_and_the_next_bill_and_no_refund(
    northwind: Site,
) -> None:
    subscription = _on_professional(northwind)
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/enterprise/").content.decode()
    response = client.post("/store/plans/enterprise/", confirmation_of(page))
    assert response.status_code == 302
    change = PlanChange.objects.get(organisation=northwind.organisation, kind="upgrade")
    assert change.amount_due > 0

    result = client.get(response["Location"]).content.decode()

    assert "Your organisation is on the Enterprise plan" in result
    due = int(change.amount_due)
    charged = f"Charged now: {_yen(due + due // 10)}, tax included."
    assert _fact(result, "charge").startswith(charged)
    invoice = Invoice.objects.get(lines__plan_change=change)
    assert f'href="/store/invoices/{invoice.number}/"' in result
    next_bill_on = subscription.period_end + timedelta(days=1)
    assert _fact(result, "new-price") == f"{_priced(60_000)} a month"
    assert _fact(result, "next-bill") == f"{_priced(60_000)} on {_day(next_bill_on)}"
    assert TAX_NOTE in result
    assert "Request prorated refund" not in result and "request-refund" not in result
    assert _reasons(result) == UPGRADE_REASONS


def test_the_downgrade_result_offers_the_refund_and_the_next_bill(northwind: Site) -> None:
    subscription = _period(northwind)
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/professional/").content.decode()
    response = client.post("/store/plans/professional/", confirmation_of(page))
    change = PlanChange.objects.get(organisation=northwind.organisation)

    result = client.get(response["Location"]).content.decode()

    assert 'data-testid="request-refund"' in result
    quote, tax = int(change.refund_quote), int(change.refund_tax)
    assert tax == quote // 10 > 0
    assert (
        f"The unused part of your previous plan is worth {_yen(quote + tax)}, tax included "
        f"({_yen(quote)} and {_yen(tax)} consumption tax)"
    ) in result
    assert 'data-testid="charge"' not in result
    next_bill_on = subscription.period_end + timedelta(days=1)
    assert _fact(result, "new-price") == f"{_priced(42_000)} a month"
    assert _fact(result, "next-bill") == f"{_priced(42_000)} on {_day(next_bill_on)}"
    assert _reasons(result) == DOWNGRADE_REASONS


def test_the_result_stops_offering_the_refund_once_the_period_ended(northwind: Site) -> None:
    """The page offers the refund exactly while the service would make it."""
    _period(northwind)
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/professional/").content.decode()
    response = client.post("/store/plans/professional/", confirmation_of(page))
    change = PlanChange.objects.get(organisation=northwind.organisation)

    with on(change.period_end):  # its last day: still offered (signed in that day)
        last_day = signed_in(northwind, "primary").get(response["Location"]).content.decode()
    assert 'data-testid="request-refund"' in last_day
    with on(change.period_end + timedelta(days=1)):
        client = signed_in(northwind, "primary")
        result = client.get(response["Location"]).content.decode()
        refused = client.post(f"/store/changes/{change.pk}/refund/", {"idempotency_key": "k1"})
    assert 'data-testid="request-refund"' not in result
    assert refused.status_code == 302  # back to the Store, which says why
    assert not RefundRequest.objects.filter(plan_change=change).exists()


@pytest.mark.parametrize(
    ("plan", "misfit"),
    [("enterprise", "too_expensive"), ("professional", "need_features")],
    ids=["downgrade-reason-on-an-upgrade", "upgrade-reason-on-a-downgrade"],
)
def test_a_feedback_reason_that_does_not_fit_the_change_is_refused(
    northwind: Site, plan: str, misfit: str
) -> None:
    if plan == "enterprise":
        _on_professional(northwind)
    client = signed_in(northwind, "primary")
    page = client.get(f"/store/plans/{plan}/").content.decode()
    result_url = client.post(f"/store/plans/{plan}/", confirmation_of(page))["Location"]
    change = PlanChange.objects.filter(organisation=northwind.organisation).first()
    assert change is not None and change.to_plan.code == plan
    events = AuditEvent.objects.count()

    response = client.post(
        f"/store/changes/{change.pk}/feedback/",
        {"idempotency_key": _key(client.get(result_url).content.decode()), "reason": misfit},
    )

    assert response.status_code == 400
    answer = response.content.decode()
    assert "Choose a reason to share your feedback." in answer
    assert "Select a valid choice" in answer
    change.refresh_from_db()
    assert (change.feedback_reason, change.feedback_text) == ("", "")
    assert AuditEvent.objects.count() == events


def test_the_plan_names_are_cached_until_staff_edit_the_catalogue(
    django_capture_on_commit_callbacks,
) -> None:
    assert catalogue.plan_names()["standard"] == "Standard"  # cached now
    plan = Plan.objects.get(code="standard")
    Plan.objects.filter(pk=plan.pk).update(name_en="Standard+")
    assert catalogue.plan_names()["standard"] == "Standard"  # not read again
    with django_capture_on_commit_callbacks(execute=True):
        record_catalogue_change(plan, acting_user=None, action=Action.CATALOGUE_CHANGED)
    assert catalogue.plan_names()["standard"] == "Standard+"


def test_the_store_catalogue_is_cached_until_staff_edit_the_catalogue(
    django_capture_on_commit_callbacks,
) -> None:
    plan = Plan.objects.get(code="standard")
    price = PlanPrice.objects.filter(plan=plan).first()
    assert price is not None
    rates = catalogue.store_catalogue().seat_rates(price.cycle, price.currency)  # cached now
    PlanPrice.objects.filter(pk=price.pk).update(per_seat_month=price.per_seat_month + 1)
    assert catalogue.store_catalogue().seat_rates(price.cycle, price.currency) == rates
    with django_capture_on_commit_callbacks(execute=True):
        record_catalogue_change(price, acting_user=None, action=Action.CATALOGUE_CHANGED)
    after = catalogue.store_catalogue().seat_rates(price.cycle, price.currency)
    assert after[plan.pk] == price.per_seat_month + 1


def test_the_store_shows_the_latest_history_and_pages_through_the_rest(northwind: Site) -> None:
    for number in range(12):  # 12 plan changes, 12 charges or none
        plan_changes.change_plan(
            northwind.organisation, "enterprise", acting_user=None, seats=11 + number
        )
    client = signed_in(northwind, "primary")
    home = client.get("/store/").content.decode()
    changes = home[home.index('id="history-title"') :]
    assert changes.count('href="/store/changes/') == 10
    assert 'href="/store/history/"' in home and 'href="/store/billing/"' in home
    history = client.get("/store/history/").content.decode()
    assert history.count('href="/store/changes/') == 12  # one page of 25
    assert 'rel="next"' not in history
    billing = client.get("/store/billing/").content.decode()
    assert billing.count("<tr") - 1 == 13  # the first period and 12 seat charges
    for odd in ("x", "0", "99"):
        assert client.get("/store/history/", {"page": odd}).status_code == 200
    agent = signed_in(northwind, "agent")
    assert agent.get("/store/history/").status_code == 403
    assert agent.get("/store/billing/").status_code == 403


def _title(page: str) -> str:
    match = re.search(r"<title>(.*?)</title>", page, re.S)
    assert match, "the page has a title"
    return " ".join(match.group(1).split())


def test_page_titles_say_what_the_page_is(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/professional/").content.decode()
    assert _title(page) == "Downgrade to Professional · Northwind Inc."
    assert _title(client.get("/store/plans/enterprise/?seats=12").content.decode()) == (
        "Change the seats of your Enterprise plan · Northwind Inc."
    )
    result = client.post("/store/plans/professional/", confirmation_of(page), follow=True)
    assert _title(result.content.decode()) == (
        "Your organisation is on the Professional plan · Northwind Inc."
    )


def test_an_older_changes_page_shows_its_own_price_not_todays(northwind: Site) -> None:
    """The finding: an old change's page showed today's price as that change's new price."""
    first = plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None, seats=4)
    page = signed_in(northwind, "primary").get(f"/store/changes/{first.pk}/").content.decode()
    assert first.new_price == 42_000  # Professional, 10 seats
    assert _fact(page, "new-price").startswith(f"{_priced(42_000)} a month")
    assert "(at the time of this change)" in page
    assert 'data-testid="next-bill"' not in page  # today's bill belongs to the latest change


def test_the_customers_history_names_the_support_team_never_a_staff_member(
    northwind: Site,
) -> None:
    staff = StaffFactory.create(email="yamada@vendor.test", groups=["Billing operations"])
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    plan_changes.change_plan(
        northwind.organisation, "professional", acting_user=staff, keep_user_ids=keep
    )
    client = signed_in(northwind, "primary")
    page = client.get("/store/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="actor">サポート担当<' in page
    assert "yamada@vendor.test" not in page


def test_the_seats_field_says_its_bounds_and_the_server_answers_out_of_them(
    northwind: Site,
) -> None:
    """Not the browser's bubble: the field says the change's bounds, and seats outside them
    are answered by the page with the reason (and the change with its default seats)."""
    client = signed_in(northwind, "primary")
    page = client.get("/store/plans/professional/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert re.search(r'<form method="get" class="form form--seats" novalidate>', page)
    assert "この変更のシート数は" in page
    wrong = client.get("/store/plans/professional/", {"seats": "100000"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert wrong.status_code == 200
    said = [str(message) for message in wrong.context["messages"]]
    assert said, "the page says why the seats were not taken"
