"""Every Store and account page on a phone (390 × 844, touch): nothing wider than the
screen, no table that scrolls sideways (tables become stacked rows), and axe finds nothing
serious. In English and in Japanese."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Page

from accounts.models import Department, User
from accounts.services import add_user, create_department
from portal.tenancy import use_public_schema
from subscriptions.models import Invoice, PlanChange
from subscriptions.services import plan_changes, refunds
from tests.conftest import drop_schemas
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password-42"
PHONE = {"width": 390, "height": 844, "touch": True}


@dataclass
class Phone:
    base: str
    paths: dict[str, str]  # page name -> path, every Store and account page


@pytest.fixture
def phone(catalogue: None, live_server) -> Iterator[Phone]:
    """An organisation with something on every page: users with long names and roles,
    departments, an upgrade (an invoice), a downgrade with a pending refund request."""
    organisation, owner = make_organisation("standard", seats=4, slug="keitai")
    with schema_context(organisation.schema_name):
        User.objects.filter(pk=owner.pk).update(full_name="Yuki Mori-Takahashi")
        for number, name in enumerate(("Sato Kenji", "Ito Aoi", "Kato Ren")):
            add_user(
                email=f"person.with.a.long.address.{number}@keitai.example.test",
                full_name=name,
                password=PASSWORD,
                is_super_admin=number == 0,
                acting_user=None,
            )
    upgrade = plan_changes.change_plan(organisation, "professional", acting_user=owner, seats=6)
    with schema_context(organisation.schema_name):
        for name in ("Billing and invoices", "Technical support (second line)", "Returns"):
            create_department(name=name, acting_user=owner)
        department = Department.objects.order_by("id").first()
        user = User.objects.exclude(pk=owner.pk).order_by("id").first()
    downgrade = plan_changes.change_plan(organisation, "standard", acting_user=owner, seats=5)
    refund = refunds.request_refund(downgrade, acting_user=owner)
    invoice = Invoice.objects.filter(organisation=organisation).order_by("id").first()
    assert upgrade and invoice and department and user
    assert PlanChange.objects.filter(organisation=organisation).count() == 2
    port = live_server.url.rsplit(":", 1)[1]
    yield Phone(
        f"http://keitai.localhost:{port}",
        {
            "dashboard": "/",
            "users": "/users/",
            "user": f"/users/{user.pk}/",
            "user-add": "/users/add/",
            "departments": "/departments/",
            "department-rename": f"/departments/{department.pk}/rename/",
            "features": "/features/",
            "store": "/store/",
            "plans": "/store/plans/",
            "downgrade": "/store/plans/free/",
            "upgrade": "/store/plans/enterprise/",
            "history": "/store/history/",
            "billing": "/store/billing/",
            "change": f"/store/changes/{downgrade.pk}/",
            "invoice": f"/store/invoices/{invoice.number}/",
            "withdraw": f"/store/refunds/{refund.pk}/withdraw/",
            "close": "/store/close/",
            "billing-details": "/store/billing-details/",
        },
    )
    use_public_schema()
    drop_schemas("org_keitai")


OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [];
    const name = (element) => `${element.tagName.toLowerCase()}.${element.className}`;
    if (document.documentElement.scrollWidth > width) {
        wide.push(`the page: ${document.documentElement.scrollWidth}px`);
    }
    for (const element of document.querySelectorAll('main *')) {
        const box = element.getBoundingClientRect();
        if (box.width <= 1 || box.height <= 1) continue;  // visually hidden (screen readers)
        if (box.right > width + 1 || box.left < -1) {
            wide.push(`${name(element)}: ${box.left}-${box.right}`);
        }
        const scrolls = getComputedStyle(element).overflowX !== 'visible';
        if (scrolls && element.scrollWidth > element.clientWidth + 1) {
            wide.push(`${name(element)} scrolls sideways`);
        }
    }
    return wide.slice(0, 10);
}"""


def _fits(page: Page) -> list[str]:
    return list(page.evaluate(OVERFLOW))


BESIDE = """() => [...document.querySelectorAll('.keep input[type=checkbox]')].filter(box => {
    const label = document.querySelector(`label[for="${box.id}"]`).getBoundingClientRect();
    const own = box.getBoundingClientRect();
    return !(own.right <= label.left && own.top < label.bottom && own.bottom > label.top);
}).map(box => box.id)"""


def _checkboxes_beside_their_names(page: Page) -> list[str]:
    """The keep-list's checkboxes that are not on the line of their name, left of it."""
    return list(page.evaluate(BESIDE))


def _sign_in(page: Page, phone: Phone) -> None:
    page.goto(phone.base + "/accounts/login/")
    assert _fits(page) == [], "sign-in"
    page.fill("input[name=login]", "owner@keitai.test")
    page.fill("input[name=password]", "a-long-test-password-42")
    page.click("main form button[type=submit]")
    page.wait_for_url(phone.base + "/")


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_every_store_and_account_page_fits_a_phone(walk, phone: Phone, locale: str) -> None:
    steps = walk(locale=locale, **PHONE)
    page = steps.page
    _sign_in(page, phone)
    problems = {}
    for name, path in phone.paths.items():
        response = page.goto(phone.base + path)
        assert response is not None and response.status == 200, (name, response and response.status)
        steps.check(f"{name}-{locale}")
        if wide := _fits(page):
            problems[name] = wide
        if name == "downgrade":  # Free has 3 seats for 4 active users: the keep-list
            assert page.locator(".keep input[type=checkbox]").count() == 3  # and one fixed
            assert _checkboxes_beside_their_names(page) == []
    assert problems == {}
    steps.finish()

    if locale == "ja":
        steps.for_docs("phone-", ("store-ja", "downgrade-ja"), numbered=False)
