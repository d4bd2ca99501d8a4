"""The seed's path through the Store in a real browser, and around it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.services import add_user, create_department
from portal.models import Organisation
from portal.tenancy import use_public_schema
from subscriptions.models import PlanChange, RefundRequest, Subscription
from tests.browser.conftest import Walk
from tests.conftest import drop_schemas
from tests.subscriptions.conftest import make_organisation

# The live server answers from other connections: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password-42"


@dataclass
class Shop:
    organisation: Organisation
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def plan(self) -> str:
        return Subscription.objects.get(organisation=self.organisation).plan.code


@pytest.fixture
def shop(catalogue: None, live_server) -> Iterator[Shop]:
    organisation, _owner = make_organisation("enterprise", seats=6, slug="kaisha")
    with schema_context(organisation.schema_name):
        User.objects.filter(is_primary_contact=True).update(full_name="Yuki Mori")
        people = [
            ("sato@kaisha.test", "Sato Kenji", True),
            ("ito@kaisha.test", "Ito Aoi", False),
            ("kato@kaisha.test", "Kato Ren", False),
            ("abe@kaisha.test", "Abe Mio", False),
        ]
        for email, name, super_admin in people:
            add_user(
                email=email,
                full_name=name,
                password=PASSWORD,
                is_super_admin=super_admin,
                acting_user=None,
            )
        for name in ("Billing", "Technical support", "Returns"):
            create_department(name=name, acting_user=None)
    port = live_server.url.rsplit(":", 1)[1]
    yield Shop(organisation, f"http://kaisha.localhost:{port}")
    use_public_schema()
    drop_schemas("org_kaisha")


def sign_in(walk: Walk, shop: Shop, email: str, password: str = PASSWORD) -> Page:
    page = walk.page
    page.goto(shop.url("/accounts/login/"))
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(shop.url("/"))
    return page


def reveal_opacity(page: Page) -> str:
    return page.eval_on_selector(
        "[data-testid=current-plan] .plan-card__reveal", "el => getComputedStyle(el).opacity"
    )


def test_the_seed_path_in_japanese_down_to_free_and_back(walk, shop: Shop) -> None:
    steps = walk(locale="ja")
    page = sign_in(steps, shop, "sato@kaisha.test")
    steps.check("dashboard")

    # 1-2. The account picture, top right, opens the profile panel; its bottom holds
    # サブスクリプション管理, which opens the Store in a new tab.
    page.click("details.account-menu summary")
    entry = page.locator(".account-menu__panel a.account-menu__store")
    assert entry.inner_text().startswith("サブスクリプション管理")
    assert entry.get_attribute("target") == "_blank"
    steps.check("account-menu")
    with page.context.expect_page() as new_tab:
        entry.click()
    store = steps.watch(new_tab.value)
    store.wait_for_load_state()
    assert store.url == shop.url("/store/")
    assert "ストア" in store.inner_text(".store-header")

    # 3. Hovering the current plan reveals プランのアップグレード/ダウングレード; before that, a
    # line on the card says it has actions.
    assert reveal_opacity(store) == "0"
    hint = store.locator("[data-testid=plan-card-hint]")
    assert hint.is_visible() and "プランを変更できます" in hint.inner_text()
    store.hover("[data-testid=current-plan]")
    store.wait_for_timeout(300)
    assert reveal_opacity(store) == "1"
    assert not hint.is_visible()
    steps.check("store-hover", store)
    # ... and so does keyboard focus.
    store.mouse.move(0, 0)
    store.wait_for_timeout(300)
    assert reveal_opacity(store) == "0"
    store.focus("[data-testid=current-plan]")
    store.wait_for_timeout(300)
    assert reveal_opacity(store) == "1"
    store.click("text=プランのアップグレード/ダウングレード")
    steps.check("plans", store)

    # A transition the table does not allow is shown disabled, with the reason.
    standard = store.locator("[data-testid=offer-standard]")
    assert standard.locator("button").is_disabled()
    assert "先にプロフェッショナルにダウングレードしてください" in standard.inner_text()

    # 4-5. ダウングレード on Professional, then 今すぐ変更.
    store.locator("[data-testid=offer-professional] a.button").click()
    assert "データは削除されません" in store.inner_text("main")
    steps.check("confirm-professional", store)
    store.click("text=今すぐ変更")
    assert "プロフェッショナルプランになりました" in store.inner_text("main")
    steps.check("result-professional", store)

    # フィードバックの共有 (optional).
    store.check("input[value=too_expensive]")
    store.fill("textarea[name=text]", "予算の見直しのため")
    store.click("[data-testid=share-feedback]")
    assert "フィードバックをありがとうございました" in store.inner_text("main")
    assert store.locator("[data-testid=share-feedback]").count() == 0  # the form went
    change = PlanChange.objects.get(organisation=shop.organisation)
    assert (change.feedback_reason, change.feedback_text) == ("too_expensive", "予算の見直しのため")
    assert shop.plan() == "professional"
    _assert_departments(store, shop, visible=4, hidden=0)
    _assert_deactivated(store, shop, 0)
    steps.check("departments-professional", store)

    # Professional → Free: 3 seats for 5 active users: choose who stays.
    store.goto(shop.url("/store/plans/"))
    store.locator("[data-testid=offer-free] a.button").click()
    assert "部門のうち3件が非表示になります（削除はされません）" in store.inner_text("main")
    hidden = store.inner_text("[data-testid=hidden-departments]")
    assert hidden == "Billing、Technical support、Returns"  # named, in the order they go
    assert "（削除はされません）：Billing" in store.inner_text("main")
    fixed = store.inner_text("[data-testid=keep-fixed]")  # the primary contact: no checkbox
    assert "Yuki Mori" in fixed and "メインの連絡先" in fixed and "常に有効のままです" in fixed
    assert store.get_by_label("Sato Kenji").is_checked()  # the one confirming
    # The list counts what can still be ticked: 3 seats, the primary contact and Sato kept
    # (counted by the page's script, which may run a moment after the page is shown).
    counter = store.locator("[data-testid=keep-counter]")
    expect(counter).to_have_text("あと1人を残せます。")
    store.get_by_label("Ito Aoi").check()
    expect(counter).to_contain_text("シートはすべて埋まりました")
    steps.check("confirm-free", store)
    store.click("text=今すぐ変更")
    assert "無料プランになりました" in store.inner_text("main")
    assert "2人のユーザーが無効化されました" in store.inner_text("main")
    steps.check("result-free", store)
    assert shop.plan() == "free"
    _assert_departments(store, shop, visible=1, hidden=3)
    steps.check("departments-hidden", store)
    _assert_deactivated(store, shop, 2)
    steps.check("users-deactivated", store)

    # Upgrade back to Enterprise with 6 seats: everything is visible again.
    store.goto(shop.url("/store/plans/"))
    store.locator("[data-testid=offer-enterprise] a.button").click()
    store.fill("input[name=seats]", "6")
    store.click("text=料金を更新")
    assert "3 → 6" in store.inner_text("main")  # seats
    steps.check("confirm-enterprise", store)
    store.click("text=今すぐ変更")
    assert "エンタープライズプランになりました" in store.inner_text("main")
    assert Subscription.objects.get(organisation=shop.organisation).seats == 6
    _assert_departments(store, shop, visible=4, hidden=0)
    steps.check("departments-back", store)
    # The two deactivated users were kept and can be reactivated.
    with schema_context(shop.organisation.schema_name):
        kato = User.objects.get(email="kato@kaisha.test")
    store.goto(shop.url(f"/users/{kato.pk}/"))
    store.click("text=再有効化")
    with schema_context(shop.organisation.schema_name):
        assert User.objects.get(pk=kato.pk).is_active
    steps.check("user-reactivated", store)
    steps.finish()

    steps.for_docs("")


def _assert_departments(page: Page, shop: Shop, *, visible: int, hidden: int) -> None:
    page.goto(shop.url("/departments/"))
    rows = page.locator("main table tbody tr")
    assert rows.count() == visible
    text = page.inner_text("main")
    if hidden:
        assert f"ほかに{hidden}件の部門が非表示" in text
    else:
        assert "非表示" not in text


def _assert_deactivated(page: Page, shop: Shop, count: int) -> None:
    page.goto(shop.url("/users/"))
    assert page.locator("main .row--inactive").count() == count


def test_an_agent_neither_sees_nor_reaches_the_store(walk, shop: Shop) -> None:
    steps = walk(locale="ja", allowed_console=(r"status of 403",))
    page = sign_in(steps, shop, "ito@kaisha.test")
    page.click("details.account-menu summary")
    assert page.locator(".account-menu__store").count() == 0
    assert "サブスクリプション管理" not in page.inner_text("body")
    steps.check("agent-menu")
    response = page.goto(shop.url("/store/"))
    assert response is not None and response.status == 403
    assert "このページにはアクセスできません" in page.inner_text("main")
    steps.check("agent-403")
    steps.finish()


def test_a_refund_requested_and_withdrawn_on_a_phone(walk, shop: Shop) -> None:
    steps = walk(locale="en", width=360, touch=True)
    page = sign_in(steps, shop, "owner@kaisha.test")
    page.goto(shop.url("/store/"))
    # On a touch screen, a tap on the plan reveals the button.
    page.tap("[data-testid=current-plan] .plan-card__name")
    page.wait_for_timeout(300)
    assert reveal_opacity(page) == "1"
    steps.check("store-phone")
    page.click("text=Upgrade/Downgrade plan")
    page.locator("[data-testid=offer-professional] a.button").click()
    page.click("[data-testid=confirm]")
    steps.check("result-phone")
    page.click("[data-testid=request-refund]")
    assert "Your refund request was sent" in page.inner_text("main")
    refund = RefundRequest.objects.get(organisation=shop.organisation)
    assert refund.status == "pending"
    steps.check("refund-pending")
    page.click("#refunds a:has-text('Withdraw')")
    # A withdrawn request cannot be made again: the Store asks first.
    assert "cannot be made again" in page.inner_text("main")
    assert RefundRequest.objects.get(pk=refund.pk).status == "pending"
    steps.check("refund-withdraw-confirm")
    page.click("[data-testid=withdraw-refund]")
    assert "Your refund request was withdrawn" in page.inner_text("main")
    refund.refresh_from_db()
    assert refund.status == "withdrawn"
    steps.check("refund-withdrawn")
    steps.finish()


def test_a_double_submitted_confirmation_applies_once(walk, shop: Shop) -> None:
    steps = walk(locale="en")
    page = sign_in(steps, shop, "owner@kaisha.test")
    page.goto(shop.url("/store/plans/professional/"))
    form = {
        name: page.input_value(f"form[method=post] input[name={name}]")
        for name in ("csrfmiddlewaretoken", "idempotency_key", "seats")
    }
    page.dblclick("[data-testid=confirm]")
    page.wait_for_url("**/store/changes/*/")
    result_url = page.url
    # The same form sent once more, as a reload of the POST would.
    replayed_to = page.evaluate(
        """async ([url, fields]) => {
            const body = new URLSearchParams(fields);
            const response = await fetch(url, {method: "POST", body, credentials: "same-origin"});
            return response.url;
        }""",
        [shop.url("/store/plans/professional/"), form],
    )
    assert replayed_to == result_url
    steps.check("after-double-submit")
    assert PlanChange.objects.filter(organisation=shop.organisation).count() == 1
    assert shop.plan() == "professional"
    steps.finish()
