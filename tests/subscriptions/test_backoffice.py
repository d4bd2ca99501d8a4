"""The vendor's back office through the real admin pages on the public site: the
refund review queue, decisions single and in bulk, groups, the read-only audit log."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format
from django_tenants.utils import schema_context

from accounts.models import Department, User
from audit.models import AuditEvent
from audit.selectors import events_about
from audit.services import Action, record
from portal.models import Organisation
from subscriptions.models import (
    EntitlementOverride,
    Feature,
    Plan,
    PlanChange,
    PlanTransition,
    RefundRequest,
    Subscription,
)
from subscriptions.services import overrides, plan_changes
from subscriptions.services.refunds import (
    approve_refund,
    mark_refunded,
    reject_refund,
    request_refund,
)
from subscriptions.templatetags.subscriptions import money
from tests.conftest import Site, confirmation_of, site_client
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/subscriptions/refundrequest/"


def staff_client(
    group: str | None = "Billing operations", email: str = "ops@vendor.test"
) -> Client:
    """A vendor staff member signed in on the public site."""
    user = StaffFactory.create(email=email, groups=[group] if group else [])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def downgrade_with_refund(site: Site, plan: str = "professional") -> RefundRequest:
    keep = [site.user_ids[role] for role in ("primary", "super", "admin")]
    change = plan_changes.change_plan(site.organisation, plan, acting_user=None, keep_user_ids=keep)
    return request_refund(change, acting_user=site.user("primary"))


@pytest.fixture
def refunds(northwind: Site, contoso: Site) -> list[RefundRequest]:
    """Three requests: contoso's older one decided, northwind's two pending."""
    older = downgrade_with_refund(contoso)
    reject_refund(older, acting_user=None, note="Outside the window")
    first = downgrade_with_refund(northwind, "professional")
    second = downgrade_with_refund(northwind, "free")
    return [older, first, second]


def test_the_queue_shows_pending_first_then_oldest(refunds) -> None:
    page = staff_client().get(QUEUE).content.decode()
    positions = [page.index(f"/admin/subscriptions/refundrequest/{r.pk}/change/") for r in refunds]
    older, first, second = positions
    assert first < second < older
    assert "Enterprise → Professional" in page and "¥" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=pending", {1, 2}),
        ("status__exact=rejected", {0}),
        ("currency__exact=JPY", {0, 1, 2}),
        ("path=professional>free", {2}),
        ("q=contoso", {0}),
        ("q=primary@northwind.test", {1, 2}),
    ],
)
def test_filters_and_search(refunds, query: str, expected: set[int]) -> None:
    page = staff_client().get(f"{QUEUE}?{query}").content.decode()
    shown = {i for i, r in enumerate(refunds) if f"/refundrequest/{r.pk}/change/" in page}
    assert shown == expected


def test_the_review_page_tells_the_whole_story(refunds) -> None:
    refund = refunds[1]
    page = staff_client().get(f"{QUEUE}{refund.pk}/change/").content.decode()
    change = refund.plan_change
    assert f"× {change.remaining_days}" in page  # the quote's calculation
    # The audit trail, its actions in words (not their codes).
    assert "Plan changed" in page and "Refund requested" in page
    assert "plan.changed" not in page


def _decision_buttons(page: str) -> list[str]:
    return re.findall(r'name="decision" value="(\w+)"', page)


def test_the_review_page_offers_only_the_decisions_that_are_possible(refunds) -> None:
    rejected, pending, _ = refunds
    client = staff_client()
    page = client.get(f"{QUEUE}{pending.pk}/change/").content.decode()
    assert _decision_buttons(page) == ["approve", "reject"]
    assert 'name="note"' in page and 'name="reference"' not in page
    approve_refund(pending, acting_user=None)
    page = client.get(f"{QUEUE}{pending.pk}/change/").content.decode()
    assert _decision_buttons(page) == ["pay", "mark_refunded"]
    assert 'name="reference"' in page
    page = client.get(f"{QUEUE}{rejected.pk}/change/").content.decode()
    assert _decision_buttons(page) == []
    assert "No decision is left to take: this request is rejected." in page


def test_approve_then_mark_refunded_from_the_review_page(refunds) -> None:
    refund = refunds[1]
    client = staff_client()
    decide = f"{QUEUE}{refund.pk}/decide/"
    assert client.post(decide, {"decision": "approve"}).status_code == 302
    response = client.post(decide, {"decision": "mark_refunded", "reference": ""}, follow=True)
    assert "Give the payment reference" in response.content.decode()
    client.post(decide, {"decision": "mark_refunded", "reference": "BANK-42"})
    refund.refresh_from_db()
    assert (refund.status, refund.payment_reference) == ("refunded", "BANK-42")
    events = events_about(refund).filter(action__in=["refund.approved", "refund.refunded"])
    assert {(e.actor_kind, e.actor_email) for e in events} == {("staff", "ops@vendor.test")}


def test_bulk_approve_reports_each_item(refunds) -> None:
    client = staff_client()
    response = client.post(
        QUEUE, {"action": "approve", "_selected_action": [r.pk for r in refunds]}, follow=True
    )
    page = response.content.decode()
    assert page.count("Approved") >= 2
    assert "A refund request that is rejected cannot be approved." in page
    statuses = [RefundRequest.objects.get(pk=r.pk).status for r in refunds]
    assert statuses == ["rejected", "approved", "approved"]


def test_bulk_reject_asks_for_a_note_first(refunds) -> None:
    client = staff_client()
    pending = [r.pk for r in refunds[1:]]
    page = client.post(QUEUE, {"action": "reject", "_selected_action": pending}).content.decode()
    assert 'name="note"' in page
    page = client.post(
        QUEUE, {"action": "reject", "_selected_action": pending, "apply": "1", "note": ""}
    ).content.decode()
    assert "This is required" in page
    assert all(RefundRequest.objects.get(pk=pk).status == "pending" for pk in pending)
    client.post(
        QUEUE, {"action": "reject", "_selected_action": pending, "apply": "1", "note": "No"}
    )
    assert all(RefundRequest.objects.get(pk=pk).status == "rejected" for pk in pending)


def test_a_stale_second_decision_gets_a_clear_message(refunds) -> None:
    refund = refunds[1]
    first, second = staff_client(), staff_client(email="other@vendor.test")
    first.post(f"{QUEUE}{refund.pk}/decide/", {"decision": "approve"})
    page = second.post(
        f"{QUEUE}{refund.pk}/decide/", {"decision": "reject", "note": "No"}, follow=True
    ).content.decode()
    assert "cannot be" in page
    refund.refresh_from_db()
    assert refund.status == "approved"


def test_support_sees_but_cannot_decide(refunds) -> None:
    client = staff_client("Support", email="support@vendor.test")
    page = client.get(QUEUE).content.decode()
    assert client.get(QUEUE).status_code == 200
    assert 'value="approve"' not in page
    refund = refunds[1]
    assert client.post(f"{QUEUE}{refund.pk}/decide/", {"decision": "approve"}).status_code == 403
    client.post(QUEUE, {"action": "approve", "_selected_action": [refund.pk]})
    refund.refresh_from_db()
    assert refund.status == "pending"


def test_staff_without_a_group_and_non_staff_are_kept_out(refunds) -> None:
    assert staff_client(None, email="nobody@vendor.test").get(QUEUE).status_code == 403
    outsider = UserFactory.create(email="customer@x.test")
    client = Client(HTTP_HOST="localhost")
    client.force_login(outsider)
    assert client.get(QUEUE).status_code == 302  # to the admin's sign-in


def test_the_admin_is_not_on_organisation_sites(northwind: Site) -> None:
    assert site_client(northwind).get(QUEUE).status_code == 404


def test_the_audit_log_is_read_only_even_for_superusers(refunds) -> None:
    boss = StaffFactory.create(superuser=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(boss)
    event = AuditEvent.objects.first()
    assert event is not None
    base = "/admin/audit/auditevent/"
    assert client.get(base).status_code == 200
    assert client.get(f"{base}add/").status_code == 403
    assert client.get(f"{base}{event.pk}/delete/").status_code == 403
    page = client.get(f"{base}{event.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    response = client.post(f"{base}{event.pk}/change/", {"action": "tampered"})
    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_the_audit_log_exports_the_filtered_list_as_csv(refunds) -> None:
    client = staff_client("Support", email="support@vendor.test")
    response = client.get("/admin/audit/auditevent/export/?action__exact=refund.rejected")
    assert response["Content-Type"].startswith("text/csv")
    body = response.getvalue().decode()
    assert body.startswith("\ufeffcreated_at,")  # Excel in Japan reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert [row["action"] for row in rows] == ["refund.rejected"]
    assert rows[0]["organisation"] == "contoso"
    # In the portal's time zone, as Excel reads a moment.
    [event] = AuditEvent.objects.filter(action="refund.rejected")
    local = timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S")
    assert rows[0]["created_at"] == local
    everything = client.get("/admin/audit/auditevent/export/")
    assert len(list(csv.DictReader(io.StringIO(everything.getvalue().decode())))) > 1


def test_the_audit_logs_old_address_leads_to_the_same_page(refunds) -> None:
    """Bookmarks from when the log was part of the subscriptions app keep working."""
    client = staff_client("Support", email="support@vendor.test")
    old = client.get("/admin/subscriptions/auditevent/?action__exact=refund.rejected")
    assert old.status_code == 302
    assert old["Location"] == "/admin/audit/auditevent/?action__exact=refund.rejected"
    export = client.get("/admin/subscriptions/auditevent/export/?action__exact=refund.rejected")
    assert export["Location"] == "/admin/audit/auditevent/export/?action__exact=refund.rejected"
    rows = list(csv.DictReader(io.StringIO(client.get(export["Location"]).getvalue().decode())))
    assert [row["action"] for row in rows] == ["refund.rejected"]


@pytest.mark.parametrize(
    "query",
    [
        "nonsense=1",  # a filter the list does not have
        "organisation__id__exact=abc",  # a value of the wrong kind
        "created_at__gte=2026-13-45",
    ],
)
def test_the_audit_export_refuses_filters_it_does_not_know_with_a_400(refunds, query: str) -> None:
    client = staff_client("Support", email="support@vendor.test")
    response = client.get(f"/admin/audit/auditevent/export/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was exported" in page and "Back to the audit log" in page
    assert not response.get("Content-Type", "").startswith("text/csv")


@pytest.mark.parametrize("url", [QUEUE, "/admin/audit/auditevent/"])
def test_admin_query_budgets_do_not_grow_with_the_data(
    northwind: Site, contoso: Site, django_assert_num_queries, url: str
) -> None:
    client = staff_client()
    downgrade_with_refund(contoso)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    downgrade_with_refund(northwind)
    plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None, seats=10)
    downgrade_with_refund(northwind, "free")
    with django_assert_num_queries(len(few)):
        assert client.get(url).status_code == 200


def superuser_client() -> Client:
    boss = StaffFactory.create(email="cat@vendor.test", superuser=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(boss)
    return client


def test_the_transition_table_is_shown_as_a_matrix(db) -> None:
    page = superuser_client().get("/admin/subscriptions/plantransition/").content.decode()
    assert "Allowed transitions: from (rows) to (columns)" in page
    start = page.index("transition-matrix")
    matrix = page[start : page.index("</table>", start)]
    assert matrix.count("↓ Downgrade") == 5 and matrix.count("↑ Upgrade") == 6


def test_a_required_downgrade_cannot_be_removed_or_bent(db) -> None:
    client = superuser_client()
    required = PlanTransition.objects.get(
        from_plan__code="enterprise", to_plan__code="professional"
    )
    base = "/admin/subscriptions/plantransition/"
    assert client.get(f"{base}{required.pk}/delete/").status_code == 403
    client.post(
        base, {"action": "delete_selected", "_selected_action": [required.pk], "post": "yes"}
    )
    assert PlanTransition.objects.filter(pk=required.pk).exists()
    standard = Plan.objects.get(code="standard")
    response = client.post(
        f"{base}{required.pk}/change/",
        {"from_plan": required.from_plan_id, "to_plan": standard.pk, "kind": "downgrade"},
    )
    assert response.status_code == 200
    assert "one of the downgrades the product must offer" in response.content.decode()
    required.refresh_from_db()
    assert required.to_plan.code == "professional"


def test_catalogue_edits_are_checked_and_audited(db) -> None:
    client = superuser_client()
    free, enterprise = Plan.objects.get(code="free"), Plan.objects.get(code="enterprise")
    response = client.post(
        "/admin/subscriptions/plantransition/add/",
        {"from_plan": free.pk, "to_plan": enterprise.pk, "kind": "downgrade"},
    )
    assert "from Free to Enterprise is an upgrade, not a downgrade" in response.content.decode()
    plan = Plan.objects.get(code="standard")
    form = client.get(f"/admin/subscriptions/plan/{plan.pk}/change/")
    assert form.status_code == 200
    response = client.post(
        f"/admin/subscriptions/plan/{plan.pk}/change/",
        {
            "code": "basic",
            "name_en": "Standard",
            "name_ja": "スタンダード",
            "rank": 1,
            "seat_cap": "",
            "prices-TOTAL_FORMS": 0,
            "prices-INITIAL_FORMS": 0,
            "features-TOTAL_FORMS": 0,
            "features-INITIAL_FORMS": 0,
        },
    )
    assert "is used by the downgrades the product must offer" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).code == "standard"
    before = AuditEvent.objects.filter(action__startswith="catalogue.").count()
    client.post(
        f"/admin/subscriptions/plan/{plan.pk}/change/",
        {
            "code": "standard",
            "name_en": "Standard+",
            "name_ja": "スタンダード",
            "rank": 1,
            "seat_cap": "",
            "prices-TOTAL_FORMS": 0,
            "prices-INITIAL_FORMS": 0,
            "features-TOTAL_FORMS": 0,
            "features-INITIAL_FORMS": 0,
        },
    )
    assert Plan.objects.get(pk=plan.pk).name_en == "Standard+"
    event = AuditEvent.objects.filter(action="catalogue.changed").latest("id")
    assert AuditEvent.objects.filter(action__startswith="catalogue.").count() == before + 1
    assert (event.actor_kind, event.actor_email, event.target) == (
        "staff",
        "cat@vendor.test",
        f"plan:{plan.pk}",
    )


ORGS = "/admin/portal/organisation/"


def test_organisations_list_their_subscription_and_open_refunds(refunds, northwind: Site) -> None:
    page = staff_client("Support", email="support@vendor.test").get(ORGS).content.decode()
    row = page[page.index(">Northwind Inc.<") :]
    row = row[: row.index("</tr>")]
    assert "Free" in row and "Monthly" in row  # downgraded twice by the fixture
    assert "3 / 3" in row  # seats used / licensed (the fixture kept three)
    assert ">2<" in row  # open refund requests


def test_staff_change_the_plan_with_the_same_preview_and_rules(northwind: Site) -> None:
    client = staff_client()
    url = f"{ORGS}{northwind.organisation.pk}/change-plan/"
    preview = client.get(url, {"plan": "standard"}).content.decode()
    assert "downgrade to Professional first" in preview and 'name="confirm"' not in preview
    preview = client.get(url, {"plan": "free"}).content.decode()
    assert "will be hidden" in preview or "Seats" in preview
    assert 'name="keep"' in preview  # 4 active users, 3 seats
    ids = northwind.user_ids
    keep = [ids["primary"], ids["agent"]]
    response = client.post(url, confirmation_of(preview, plan="free", confirm="1", keep=keep))
    assert response.status_code == 302, [str(m) for m in response.context["messages"]]
    change = PlanChange.objects.get(organisation=northwind.organisation)
    assert (change.to_plan.code, change.actor_kind, change.actor_email) == (
        "free",
        "staff",
        "ops@vendor.test",
    )
    support = staff_client("Support", email="support@vendor.test")
    page = client.get(url, {"plan": "enterprise", "seats": "5"}).content.decode()
    support.post(url, confirmation_of(page, plan="enterprise", confirm="1", seats=5))
    assert PlanChange.objects.filter(organisation=northwind.organisation).count() == 1


@pytest.mark.parametrize("seats", ["-3", "0", "50000", "abc"])
def test_staff_change_plan_with_seats_that_do_not_fit_changes_nothing(
    northwind: Site, seats: str
) -> None:
    client = staff_client()
    url = f"{ORGS}{northwind.organisation.pk}/change-plan/"
    before = Subscription.objects.values().get(organisation=northwind.organisation)
    response = client.post(url, {"plan": "enterprise", "confirm": "1", "seats": seats})
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()
    assert Subscription.objects.values().get(organisation=northwind.organisation) == before


def test_staff_grant_and_revoke_an_override(northwind: Site) -> None:
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    client = staff_client()
    base = f"{ORGS}{northwind.organisation.pk}/"
    client.post(
        f"{base}overrides/",
        {"feature": "live_chat", "reason": "Pilot", "limit": "", "valid_until": ""},
    )
    override = EntitlementOverride.objects.get(organisation=northwind.organisation)
    assert override.feature.code == "live_chat" and override.granted_by == "ops@vendor.test"
    page = client.get(base + "change/").content.decode()
    assert "Pilot" in page and "Revoke" in page
    client.post(f"{base}overrides/{override.pk}/revoke/")
    override.refresh_from_db()
    assert override.revoked_at is not None
    actions = list(
        AuditEvent.objects.filter(
            organisation=northwind.organisation, action__startswith="override."
        )
        .order_by("id")
        .values_list("action", "actor_email")
    )
    assert actions == [
        ("override.granted", "ops@vendor.test"),
        ("override.revoked", "ops@vendor.test"),
    ]
    support = staff_client("Support", email="support@vendor.test")
    support.post(f"{base}overrides/", {"feature": "sandbox", "reason": "Nope"})
    assert EntitlementOverride.objects.filter(organisation=northwind.organisation).count() == 1


def test_insight_shows_the_figures_beside_the_charts(
    northwind: Site, django_assert_max_num_queries
) -> None:
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    plan_changes.share_feedback(change, acting_user=None, reason="too_expensive")
    refund = request_refund(change, acting_user=northwind.user("primary"))
    approve_refund(refund, acting_user=None)
    mark_refunded(refund, acting_user=None, payment_reference="R-1")
    plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None)
    client = staff_client("Support", email="support@vendor.test")
    client.get("/admin/subscriptions/planchange/insight/")
    with django_assert_max_num_queries(12):
        page = client.get("/admin/subscriptions/planchange/insight/").content.decode()
    month = date_format(change.changed_on.replace(day=1), "YEAR_MONTH_FORMAT")
    assert f"<tr><td>{month}</td><td>1</td><td>1</td></tr>" in page  # one up, one down
    assert "<tr><td>Too expensive</td><td>1</td></tr>" in page
    amount = money(refund.amount, "JPY")
    assert f"<tr><td>{month}</td><td>{amount}</td><td>{amount}</td></tr>" in page
    assert page.count("<svg") >= 3


INSIGHT = "/admin/subscriptions/planchange/insight/"


def test_insight_filters_by_organisation_and_months(northwind: Site, contoso: Site) -> None:
    change = plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    plan_changes.change_plan(contoso.organisation, "professional", acting_user=None)
    plan_changes.change_plan(contoso.organisation, "enterprise", acting_user=None)
    month = date_format(change.changed_on.replace(day=1), "YEAR_MONTH_FORMAT")
    client = staff_client("Support", email="support@vendor.test")
    every = client.get(INSIGHT).content.decode()
    assert f"<tr><td>{month}</td><td>1</td><td>2</td></tr>" in every  # both organisations
    one = client.get(INSIGHT, {"organisation": "northwind"}).content.decode()
    assert f"<tr><td>{month}</td><td>0</td><td>1</td></tr>" in one
    assert "Northwind Inc." in one
    earlier = client.get(INSIGHT, {"first_month": "2020-01", "last_month": "2020-03"})
    page = earlier.content.decode()
    assert earlier.status_code == 200
    assert "<tr><td>January 2020</td><td>0</td><td>0</td></tr>" in page
    assert f"<td>{month}</td>" not in page and "Months January 2020 to March 2020" in page


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"organisation": "nobody"}, "No organisation has the address “nobody”."),
        ({"first_month": "2026-05", "last_month": "2026-01"}, "comes after the last"),
        ({"first_month": "2020-01", "last_month": "2026-01"}, "Choose at most 36 months."),
        ({"first_month": "May"}, "Enter a valid date."),
        ({"first_month": "2999-01"}, "comes after the last"),  # up to this month
        ({"first_month": "1900-01"}, "Choose at most 36 months."),
    ],
)
def test_insight_says_why_a_filter_does_not_hold(
    db: None, query: dict[str, str], reason: str
) -> None:
    response = staff_client("Support", email="support@vendor.test").get(INSIGHT, query)
    assert response.status_code == 400
    assert reason in response.content.decode()


def test_creating_an_organisation_in_the_admin_does_what_the_command_does(db) -> None:
    client = staff_client()
    form = {
        "name": "Wayne KK",
        "slug": "wayne",
        "primary_contact_email": "bruce@wayne.test",
        "primary_contact_name": "Bruce",
        "plan": "standard",
        "seats": 4,
        "cycle": "annual",
        "currency": "USD",
    }
    response = client.post(f"{ORGS}add/", form, follow=True)
    page = response.content.decode()
    assert "was created" in page and "/accounts/password/reset/key/" in page
    organisation = Organisation.objects.get(slug="wayne")
    subscription = Subscription.objects.get(organisation=organisation)
    assert (
        subscription.plan.code,
        subscription.seats,
        subscription.cycle,
        subscription.currency,
    ) == (
        "standard",
        4,
        "annual",
        "USD",
    )
    with schema_context(organisation.schema_name):
        assert User.objects.get().is_primary_contact
        assert Department.objects.count() == 1
    started = AuditEvent.objects.get(organisation=organisation, action="subscription.started")
    assert (started.actor_kind, started.actor_email) == ("staff", "ops@vendor.test")
    again = client.post(f"{ORGS}add/", form).content.decode()
    assert "already exists" in again
    support = staff_client("Support", email="support@vendor.test")
    assert support.get(f"{ORGS}add/").status_code == 403


def _admin_pages(site: Site) -> list[str]:
    refund = RefundRequest.objects.filter(organisation=site.organisation).first()
    pages = [
        ORGS,
        f"{ORGS}{site.organisation.pk}/change/",
        "/admin/subscriptions/plantransition/",
        "/admin/subscriptions/planchange/",
        "/admin/subscriptions/subscription/",
        "/admin/subscriptions/plan/",
        "/admin/subscriptions/feature/",
        "/admin/subscriptions/entitlementoverride/",
    ]
    if refund is not None:
        pages.append(f"{QUEUE}{refund.pk}/change/")
    return pages


def test_every_admin_page_makes_the_same_number_of_queries_as_data_grows(
    northwind: Site, contoso: Site
) -> None:
    client = staff_client()
    downgrade_with_refund(northwind)
    pages = _admin_pages(northwind)
    counts = {}
    for url in pages:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        counts[url] = len(queries)
    plan_changes.change_plan(northwind.organisation, "enterprise", acting_user=None, seats=10)
    downgrade_with_refund(northwind, "free")
    downgrade_with_refund(contoso)
    overrides.grant_override(
        northwind.organisation, "webhooks", acting_user=None, reason="x", limit=20
    )
    for url in pages:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        assert len(queries) == counts[url], url


def test_a_plan_in_use_cannot_be_deleted(northwind: Site) -> None:
    client = superuser_client()
    enterprise = Plan.objects.get(code="enterprise")
    page = client.post(f"/admin/subscriptions/plan/{enterprise.pk}/delete/", {"post": "yes"})
    # Refused twice over: a plan of the seed's downgrades, and in use by subscriptions.
    assert page.status_code == 403 or "Cannot delete plan" in page.content.decode()
    assert Plan.objects.filter(pk=enterprise.pk).exists()


def test_odd_ids_and_missing_permissions_in_the_back_office(northwind: Site) -> None:
    client = staff_client()
    for url in (f"{ORGS}abc/change/", f"{QUEUE}abc/change/"):
        assert client.get(url).status_code in (302, 404), url
    nobody = staff_client(None, email="nobody@vendor.test")
    assert (
        nobody.get(f"{ORGS}{northwind.organisation.pk}/change-plan/", {"plan": "free"}).status_code
        == 403
    )
    boss = superuser_client()
    standard = Plan.objects.get(code="standard")
    assert boss.get(f"/admin/subscriptions/plan/{standard.pk}/delete/").status_code == 403
    departments = Feature.objects.get(code="departments")
    assert boss.get(f"/admin/subscriptions/feature/{departments.pk}/delete/").status_code == 403
    boss.post(
        "/admin/subscriptions/feature/",
        {"action": "delete_selected", "_selected_action": [departments.pk], "post": "yes"},
    )
    assert Feature.objects.filter(pk=departments.pk).exists()


def test_the_review_says_what_a_refund_is_set_against(northwind: Site) -> None:
    """A downgrade's refund requested, then the plan upgraded back: staff see the upgrade
    and its charge next to the request."""
    organisation = northwind.organisation
    change = plan_changes.change_plan(organisation, "professional", acting_user=None)
    refund = request_refund(change, acting_user=northwind.user("primary"))
    client = staff_client()
    url = f"/admin/subscriptions/refundrequest/{refund.pk}/change/"
    assert (
        "None: the organisation has not changed its plan since." in client.get(url).content.decode()
    )
    back = plan_changes.change_plan(organisation, "enterprise", acting_user=None)
    page = client.get(url).content.decode()
    later = page[page.index('data-testid="later-changes"') :]
    later = later[: later.index("</ul>")]
    assert "Professional → Enterprise" in later and money(back.amount_due, "JPY") in later


def test_the_audit_detail_shows_its_moments_in_the_zone_of_the_list(northwind: Site) -> None:
    """The list shows ``created_at`` in the portal's time zone; the event's own data
    (stored as UTC, ``…Z``) is shown in that zone too."""
    moment = datetime(2026, 12, 6, 8, 46, tzinfo=UTC)
    event = record(
        Action.PLAN_CHANGED,
        acting_user=None,
        target=northwind.organisation,
        organisation=northwind.organisation,
        after={"at": moment, "day": date(2026, 12, 6), "note": "2026-13-45T25:00Z"},
    )
    assert event.after["at"] == "2026-12-06T08:46:00Z"  # as stored
    page = staff_client().get(f"/admin/audit/auditevent/{event.pk}/change/")
    text = page.content.decode()
    assert "2026-12-06T17:46:00+09:00" in text  # Asia/Tokyo, as the list
    assert "08:46:00Z" not in text
    assert "&quot;day&quot;: &quot;2026-12-06&quot;" in text
    assert "2026-13-45T25:00Z" in text  # text that only looks like a moment stays as it is
