"""entitlements_for and the portal gated by it: features, limits, seats, overrides."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from accounts.exceptions import LimitReached, SeatsExhausted
from accounts.models import Department
from accounts.services import add_user, create_department, deactivate_user, reactivate_user
from portal.models import Organisation
from subscriptions.exceptions import InvalidOverride
from subscriptions.models import Plan
from subscriptions.selectors.entitlements import entitlements_for
from subscriptions.services import overrides, plan_changes
from subscriptions.templatetags.subscriptions import money
from tests.conftest import Site, signed_in
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("plan", "switches_on", "switches_off", "departments", "sla"),
    [
        ("free", {"email_ticketing", "help_centre"}, {"social_channels", "live_chat"}, 1, 0),
        ("standard", {"social_channels", "community_forums"}, {"blueprints", "zia"}, 1, 4),
        (
            "professional",
            {"blueprints", "zia", "multi_department"},
            {"live_chat", "sandbox"},
            10,
            10,
        ),
        ("enterprise", {"live_chat", "sandbox", "custom_modules"}, set(), 50, None),
    ],
)
def test_each_plan_entitles_what_the_catalogue_says(
    db, plan: str, switches_on: set[str], switches_off: set[str], departments: int, sla: int | None
) -> None:
    organisation, _owner = make_organisation(plan, seats=3)
    entitlements = entitlements_for(Organisation.objects.get(pk=organisation.pk))
    assert entitlements.plan.code == plan
    assert all(entitlements.has(code) for code in switches_on)
    assert not any(entitlements.has(code) for code in switches_off)
    assert entitlements.limit("departments") == departments
    assert entitlements.limit("sla_policies") == sla
    assert entitlements.has("sla_policies") == (sla != 0)
    assert entitlements.seats == 3


def _fresh(organisation: Organisation) -> Organisation:
    """The organisation as a request loads it (with its subscription and plan)."""
    return Organisation.objects.select_related("subscription__plan").get(pk=organisation.pk)


def test_one_query_cold_none_warm_none_repeated(northwind: Site, django_assert_num_queries) -> None:
    organisation = _fresh(northwind.organisation)
    with django_assert_num_queries(1):
        first = entitlements_for(organisation)
    with django_assert_num_queries(0):
        assert entitlements_for(organisation) is first  # per request: computed once
        for code in ("live_chat", "blueprints", "departments", "webhooks"):
            first.has(code)
    with django_assert_num_queries(0):
        assert entitlements_for(organisation) == first
    again = _fresh(northwind.organisation)
    with django_assert_num_queries(0):  # warm shared cache
        assert entitlements_for(again) == first


def test_a_plan_change_is_seen_at_once_by_every_process(northwind: Site) -> None:
    assert entitlements_for(_fresh(northwind.organisation)).has("live_chat")
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    # The cache entry of the old plan is still there but no longer addressed.
    assert not entitlements_for(_fresh(northwind.organisation)).has("live_chat")


def test_overrides_grant_a_feature_or_a_higher_limit_until_a_date(db) -> None:
    organisation, _owner = make_organisation("professional", seats=2)
    today = timezone.localdate()
    chat = overrides.grant_override(
        organisation, "live_chat", acting_user=None, reason="Pilot", valid_until=today
    )
    overrides.grant_override(
        organisation, "departments", acting_user=None, reason="Merger", limit=20
    )
    overrides.grant_override(organisation, "webhooks", acting_user=None, reason="Lower", limit=3)
    entitlements = entitlements_for(_fresh(organisation), today=today)
    assert entitlements.has("live_chat")
    assert entitlements.limit("departments") == 20
    assert entitlements.limit("webhooks") == 10  # an override never lowers the plan's limit
    tomorrow = today + timedelta(days=1)
    assert not entitlements_for(_fresh(organisation), today=tomorrow).has("live_chat")
    overrides.revoke_override(chat, acting_user=None)
    assert not entitlements_for(_fresh(organisation), today=today).has("live_chat")
    overrides.grant_override(
        organisation, "sla_policies", acting_user=None, reason="Big deal", limit=None
    )
    assert entitlements_for(_fresh(organisation), today=today).limit("sla_policies") is None


def test_bad_overrides_are_refused(db) -> None:
    organisation, _owner = make_organisation("professional", seats=2)
    yesterday = timezone.localdate() - timedelta(days=1)
    for kwargs in (
        {"reason": ""},
        {"reason": "x", "limit": 5, "feature": "live_chat"},
        {"reason": "x", "valid_until": yesterday},
    ):
        feature = str(kwargs.pop("feature", "departments"))
        with pytest.raises(InvalidOverride):
            overrides.grant_override(organisation, feature, acting_user=None, **kwargs)


def test_departments_past_the_limit_are_hidden_and_come_back(northwind: Site) -> None:
    organisation = northwind.organisation
    with schema_context(organisation.schema_name):
        for name in ("Billing", "Sales", "Returns"):
            create_department(name=name, acting_user=None)
        rows = list(Department.objects.order_by("id").values())
    keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    plan_changes.change_plan(organisation, "free", acting_user=None, keep_user_ids=keep)

    client = signed_in(northwind, "admin")
    page = client.get("/departments/").content.decode()
    assert "Northwind Inc." in page  # the oldest stays visible
    assert "Billing" not in page and "Returns" not in page
    assert "3 more departments are hidden" in page
    assert "Your plan allows 1 department" in page
    with schema_context(organisation.schema_name):
        assert list(Department.objects.order_by("id").values()) == rows  # untouched
        billing = Department.objects.get(name="Billing")
        with pytest.raises(LimitReached):
            create_department(name="Overflow", acting_user=None)
    assert client.get(f"/departments/{billing.pk}/rename/").status_code == 404
    assert client.post("/departments/", {"name": "Overflow"}).status_code == 400

    plan_changes.change_plan(organisation, "enterprise", acting_user=None, seats=10)
    page = signed_in(northwind, "admin").get("/departments/").content.decode()
    assert all(name in page for name in ("Billing", "Sales", "Returns"))
    assert "more departments are hidden" not in page


def test_seats_are_the_limit_of_active_users(db) -> None:
    organisation, _owner = make_organisation("standard", seats=2)
    with schema_context(organisation.schema_name):
        second = add_user(email="second@seats.test", acting_user=None)
        with pytest.raises(SeatsExhausted):
            add_user(email="third@seats.test", acting_user=None)
        deactivate_user(second, acting_user=None)
        add_user(email="third@seats.test", acting_user=None)
        with pytest.raises(SeatsExhausted):
            reactivate_user(second, acting_user=None)


def test_features_page_shows_what_is_available_and_what_unlocks_the_rest(northwind: Site) -> None:
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    page = signed_in(northwind, "agent").get("/features/").content.decode()
    assert "Your organisation is on the Professional plan." in page
    assert "Live chat" in page and "available on the Enterprise plan" in page
    assert "Blueprints" in page and "Available" in page
    japanese = signed_in(northwind, "agent").get("/features/", HTTP_ACCEPT_LANGUAGE="ja")
    assert "プロフェッショナル" in japanese.content.decode()


def test_a_gated_page_answers_403_with_the_plan_that_unlocks_it(northwind: Site) -> None:
    client = signed_in(northwind, "agent")
    assert client.get("/live-chat/").status_code == 200
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    response = client.get("/live-chat/")
    assert response.status_code == 403
    assert "Live chat is available on the Enterprise plan and above." in response.content.decode()


def test_dashboard_shows_the_plan_and_usage_against_limits(northwind: Site) -> None:
    page = signed_in(northwind, "agent").get("/").content.decode()
    assert "Enterprise" in page
    assert '4 <span class="tile__of">/ 10</span>' in page  # active users / seats
    assert '1 <span class="tile__of">/ 50</span>' in page  # departments / limit


def test_cache_is_per_organisation(northwind: Site, contoso: Site) -> None:
    plan_changes.change_plan(contoso.organisation, "professional", acting_user=None)
    caches["entitlements"].clear()
    assert entitlements_for(_fresh(northwind.organisation)).plan.code == "enterprise"
    assert entitlements_for(_fresh(contoso.organisation)).plan.code == "professional"


def test_templates_gate_with_the_has_feature_filter(northwind: Site) -> None:
    client = signed_in(northwind, "agent")
    assert 'href="/live-chat/"' in client.get("/").content.decode()
    plan_changes.change_plan(northwind.organisation, "professional", acting_user=None)
    assert 'href="/live-chat/"' not in client.get("/").content.decode()


def test_money_is_formatted_per_currency_and_locale() -> None:
    with translation.override("ja"):
        assert money(Decimal(122064), "JPY") == "¥122,064"
    with translation.override("en"):
        assert money(Decimal("140"), "USD") == "$140.00"
        assert money(Decimal("1234567.5"), "USD") == "$1,234,567.50"


def test_the_free_plan_is_the_one_priced_nothing() -> None:
    """``Plan.is_free`` (the dashboard's "no charge") is the plan whose every price is 0."""
    free = {
        plan.code
        for plan in Plan.objects.prefetch_related("prices")
        if all(price.per_seat_month == 0 for price in plan.prices.all())
    }
    assert free == {plan.code for plan in Plan.objects.all() if plan.is_free} == {"free"}
