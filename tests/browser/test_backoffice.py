"""The back office in Chromium: a billing-operations staff member approves a refund, and a
vendor's staff walks every back-office page in Japanese."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, Permission
from procrastinate.contrib.django.models import ProcrastinateJob

from audit.selectors import events_about
from audit.services import ACTION_LABELS
from portal.tenancy import use_public_schema
from subscriptions.models import RefundRequest
from subscriptions.services import plan_changes, refunds
from tests.conftest import drop_schemas
from tests.factories import StaffFactory
from tests.portal.test_japanese import BACK_OFFICE, english_words, faults
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password-42"


@pytest.fixture
def pending_refund(catalogue: None, live_server) -> Iterator[tuple[RefundRequest, str]]:
    organisation, owner = make_organisation("enterprise", seats=3, slug="shinsei")
    change = plan_changes.change_plan(organisation, "professional", acting_user=owner)
    refund = refunds.request_refund(change, acting_user=owner)
    # The transactional flush of earlier tests emptied the groups; make the one we need.
    group, _ = Group.objects.get_or_create(name="Billing operations")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="subscriptions",
            codename__in=["view_refundrequest", "decide_refundrequest"],
        )
    )
    StaffFactory.create(email="billing@vendor.test", password=PASSWORD, groups=[group.name])
    yield refund, live_server.url
    use_public_schema()
    drop_schemas("org_shinsei")


def test_staff_approve_a_refund_in_the_admin(walk, pending_refund) -> None:
    refund, base = pending_refund
    steps = walk(locale="en")
    page = steps.page
    page.goto(f"{base}/admin/login/?next=/admin/subscriptions/refundrequest/")
    page.wait_for_url("**/accounts/login/**")  # the admin's sign-in is allauth's
    page.fill("input[name=login]", "billing@vendor.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/admin/subscriptions/refundrequest/")
    assert "Shinsei" in page.inner_text("#result_list")
    steps.check("queue", accessibility=False)
    page.click(f"#result_list a[href$='/refundrequest/{refund.pk}/change/']")
    assert "The plan change and its quote" in page.inner_text("#content")
    steps.check("review", accessibility=False)
    page.click("button[value=approve]")
    assert "Approved" in page.inner_text(".messagelist")
    steps.check("approved", accessibility=False)
    refund.refresh_from_db()
    assert refund.status == "approved" and refund.decided_by == "billing@vendor.test"
    assert (
        events_about(refund)
        .filter(action="refund.approved", actor_email="billing@vendor.test")
        .exists()
    )
    steps.finish()


# What a reader of an admin page reads as the page's own words, not its data: the site's
# name, headings, column headers, filters, labels, buttons, links to other pages, messages.
PAGE_WORDS = ", ".join(
    [
        "#site-name",
        "#user-tools",
        "h1",
        "h2",
        "h3",
        "thead th",
        "caption",
        "label",
        "button",
        "input[type=submit]",
        ".object-tools a",
        ".breadcrumbs",
        "#nav-sidebar",
        "#changelist-filter",
        ".actions",
        ".paginator",
        ".messagelist",
    ]
)


# Symbols that stand between spaces in any language (プラン変更 › 組織, A → B).
SEPARATORS = re.compile(r" ?([→›—–|×−]) ?")
# The text of the content's elements, each piece of text on its own (a button and the label
# beside it are two), but for the job queue's arguments (data) and Django's user tools.
TEXT_NODES = """root => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) {
        const node = walker.currentNode;
        if (!node.parentElement.closest("script, style, .field-pretty_args, #user-tools")) {
            texts.push(node.data);
        }
    }
    return texts;
}"""


def _faults_on(page) -> list[str]:
    """The pieces of text of the page's content that do not read as Japanese (``faults``:
    a half-width space, comma, colon or parenthesis beside a Japanese character) or that
    show an audit code (``plan.changed``) instead of its words."""
    texts = page.eval_on_selector("#content", TEXT_NODES)
    texts += page.eval_on_selector_all(".breadcrumbs", "nodes => nodes.map(n => n.innerText)")
    found = []
    for text in (" ".join(text.split()) for text in texts):
        if faults(SEPARATORS.sub(r"\1", text)) or set(text.split()) & set(ACTION_LABELS):
            found.append(text)
    return found


def _words_on(page) -> set[str]:
    texts = page.eval_on_selector_all(
        PAGE_WORDS, "nodes => nodes.map(n => n.tagName === 'INPUT' ? n.value : n.innerText)"
    )
    text = " ".join(texts).replace("Shinsei", " ")  # the organisation's own name
    # The job queue's filters list its queues and tasks by their names in the code.
    for codes in ProcrastinateJob.objects.values_list("queue_name", "task_name"):
        for code in codes:
            text = text.replace(code, " ")
    return english_words(text)


def test_the_back_office_walked_in_japanese_says_everything_in_japanese(
    walk, pending_refund
) -> None:
    refund, base = pending_refund
    StaffFactory.create(email="admin@vendor.test", password=PASSWORD, is_superuser=True)
    steps = walk(locale="ja")
    page = steps.page
    page.goto(f"{base}/admin/")
    page.wait_for_url("**/accounts/login/**")
    assert english_words(page.inner_text("main")) == set()  # the sign-in page, allauth's
    page.fill("input[name=login]", "admin@vendor.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/admin/")
    found = {}
    organisation = refund.organisation_id
    urls = [url.format(organisation=organisation) for url in BACK_OFFICE]
    urls.append(f"/admin/subscriptions/refundrequest/{refund.pk}/change/")
    for url in urls:
        page.goto(f"{base}{url}")
        if words := _words_on(page):
            found[url] = sorted(words)
        if lines := _faults_on(page):
            found[f"{url} (text)"] = lines
        if url == "/admin/":
            steps.check("index", accessibility=False)
    steps.check("refund-review", accessibility=False)
    page.click("button[value=approve]")
    assert "承認" in page.inner_text(".messagelist")
    if words := _words_on(page):
        found["approved"] = sorted(words)
    steps.check("approved", accessibility=False)
    assert found == {}
    steps.finish()

    steps.for_docs("backoffice-")
