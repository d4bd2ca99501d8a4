"""The organisation pages (dashboard, users, departments) by role, through real requests."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from django_tenants.utils import schema_context

from accounts import services
from accounts.models import Department, User
from accounts.services import add_user
from accounts.views import USERS_PER_PAGE
from subscriptions.services import plan_changes
from tests.conftest import Site, send_queued_emails, signed_in, site_client

pytestmark = pytest.mark.django_db

USER_MANAGERS = ["primary", "super", "admin"]


def in_schema(site: Site):
    return schema_context(site.organisation.schema_name)


@pytest.mark.parametrize("role", ["primary", "super", "admin", "agent"])
def test_dashboard_shows_the_organisation_and_the_user(northwind: Site, role: str) -> None:
    response = signed_in(northwind, role).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Northwind Inc." in page
    assert northwind.user(role).full_name in page
    assert ('href="/users/"' in page) == (role in USER_MANAGERS)


def test_on_free_the_dashboard_says_what_free_means(northwind: Site) -> None:
    """Free has no charge and no period to watch, and departments past its one are hidden
    (the tiles said "monthly · period ends …" and "4 / 1 departments")."""
    with in_schema(northwind):
        for name in ("Billing", "Returns", "Shipping"):
            Department.objects.create(name=name)
        total = Department.objects.count()
        keep = [northwind.user_ids[role] for role in ("primary", "super", "admin")]
    plan_changes.change_plan(northwind.organisation, "free", acting_user=None, keep_user_ids=keep)
    page = signed_in(northwind, "primary").get("/").content.decode()
    assert "No charge and no end date: up to 3 agents." in page
    assert "period ends" not in page
    assert f"{total - 1} more are hidden by your plan" in page
    assert f"{total} <span" not in page  # the figure counts what the plan shows


def test_on_a_paid_plan_the_dashboard_shows_the_cycle_and_the_period(northwind: Site) -> None:
    page = signed_in(northwind, "primary").get("/").content.decode()
    assert "period ends" in page and 'data-testid="free-plan"' not in page
    assert 'data-testid="departments-hidden"' not in page


@pytest.mark.parametrize("role", ["primary", "super", "admin", "agent"])
def test_users_page_is_for_administrators_and_above(northwind: Site, role: str) -> None:
    client = signed_in(northwind, role)
    expected = 200 if role in USER_MANAGERS else 403
    assert client.get("/users/").status_code == expected
    assert client.get("/users/add/").status_code == expected
    assert client.get(f"/users/{northwind.user_ids['agent']}/").status_code == expected
    assert client.post(f"/users/{northwind.user_ids['admin']}/deactivate/").status_code in (
        {302, 400, 403} if role in USER_MANAGERS else {403}
    )


def test_an_agents_403_is_a_friendly_page(northwind: Site) -> None:
    response = signed_in(northwind, "agent").get("/users/")
    assert response.status_code == 403
    assert "You don't have access to this page" in response.content.decode()


def test_users_page_lists_everyone_with_roles_and_status(northwind: Site) -> None:
    page = signed_in(northwind, "admin").get("/users/").content.decode()
    for role in ("primary", "super", "admin", "agent", "inactive"):
        assert northwind.email(role) in page
    for label in ("Primary contact", "Super admin", "Administrator", "Agent", "Deactivated"):
        assert label in page


def test_add_user_invites_them(northwind: Site) -> None:
    client = signed_in(northwind, "admin")
    response = client.post(
        "/users/add/",
        {"email": "newbie@northwind.test", "full_name": "New Bie", "is_administrator": "on"},
    )
    assert response.status_code == 302
    with in_schema(northwind):
        user = User.objects.get(email="newbie@northwind.test")
    assert user.is_administrator and not user.is_super_admin
    assert send_queued_emails()[0].to == ["newbie@northwind.test"]
    assert "newbie@northwind.test was added" in client.get("/users/").content.decode()


def test_an_administrator_is_not_offered_super_admin_and_cannot_post_it(northwind: Site) -> None:
    client = signed_in(northwind, "admin")
    assert 'name="is_super_admin"' not in client.get("/users/add/").content.decode()
    client.post("/users/add/", {"email": "sneaky@northwind.test", "is_super_admin": "on"})
    with in_schema(northwind):
        assert not User.objects.get(email="sneaky@northwind.test").is_super_admin


def test_add_user_shows_errors_for_bad_input(northwind: Site) -> None:
    client = signed_in(northwind, "super")
    response = client.post("/users/add/", {"email": "not-an-email"})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    response = client.post("/users/add/", {"email": northwind.email("agent")})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_roles_are_changed_on_the_user_page(northwind: Site) -> None:
    client = signed_in(northwind, "super")
    agent_id = northwind.user_ids["agent"]
    response = client.post(
        f"/users/{agent_id}/", {"is_super_admin": "on", "is_administrator": "on"}
    )
    assert response.status_code == 302
    agent = northwind.user("agent")
    assert agent.is_super_admin and agent.is_administrator


def test_demoting_the_primary_contact_shows_the_reason(northwind: Site) -> None:
    response = signed_in(northwind, "super").post(f"/users/{northwind.user_ids['primary']}/", {})
    assert response.status_code == 400
    assert "primary contact cannot be deactivated or demoted" in response.content.decode()
    assert northwind.user("primary").is_super_admin


def test_deactivate_and_reactivate_from_the_user_page(northwind: Site) -> None:
    client = signed_in(northwind, "admin")
    agent_id = northwind.user_ids["agent"]
    assert client.post(f"/users/{agent_id}/deactivate/").status_code == 302
    assert not northwind.user("agent").is_active
    assert client.post(f"/users/{agent_id}/reactivate/").status_code == 302
    assert northwind.user("agent").is_active
    assert client.get(f"/users/{agent_id}/deactivate/").status_code == 405


def test_deactivating_yourself_is_refused_with_a_message(northwind: Site) -> None:
    response = signed_in(northwind, "admin").post(
        f"/users/{northwind.user_ids['admin']}/deactivate/"
    )
    assert response.status_code == 400
    assert "You cannot deactivate your own account." in response.content.decode()
    assert northwind.user("admin").is_active


def test_transfer_the_primary_contact_after_a_confirmation(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    url = f"/users/{northwind.user_ids['super']}/primary-contact/"
    assert "will become your organisation's primary contact" in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    assert northwind.user("super").is_primary_contact
    assert not northwind.user("primary").is_primary_contact
    assert signed_in(northwind, "admin").post(url).status_code == 403


def test_a_user_of_another_organisation_is_not_found(northwind: Site, contoso: Site) -> None:
    with in_schema(contoso):
        outsider = add_user(email="only@contoso.test", acting_user=None)
    with in_schema(northwind):
        assert not User.objects.filter(pk=outsider.pk).exists()
    client = signed_in(northwind, "super")
    assert client.get(f"/users/{outsider.pk}/").status_code == 404
    assert client.post(f"/users/{outsider.pk}/deactivate/").status_code == 404
    with in_schema(contoso):
        assert User.objects.get(pk=outsider.pk).is_active


def test_departments_page(northwind: Site) -> None:
    admin = signed_in(northwind, "admin")
    response = admin.post("/departments/", {"name": "Billing"})
    assert response.status_code == 302
    response = admin.post("/departments/", {"name": "billing"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    with in_schema(northwind):
        billing = Department.objects.get(name="Billing")
    assert admin.post(f"/departments/{billing.pk}/rename/", {"name": "Payments"}).status_code == 302
    page = signed_in(northwind, "agent").get("/departments/").content.decode()
    assert "Payments" in page and "Northwind Inc." in page
    assert "New department" not in page


def test_agents_see_departments_but_cannot_change_them(northwind: Site) -> None:
    agent = signed_in(northwind, "agent")
    assert agent.post("/departments/", {"name": "Rogue"}).status_code == 403
    with in_schema(northwind):
        department = Department.objects.get()
    assert agent.get(f"/departments/{department.pk}/rename/").status_code == 403
    with in_schema(northwind):
        assert list(Department.objects.values_list("name", flat=True)) == ["Northwind Inc."]


def test_pages_speak_japanese_from_the_browser_and_switch_on_request(northwind: Site) -> None:
    client = signed_in(northwind, "admin")
    page = client.get("/users/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "ユーザー" in page and 'lang="ja"' in page
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/users/"})
    assert response.status_code == 302
    page = client.get("/users/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'lang="en"' in page and "Add user" in page


def _add_users(site: Site, count: int) -> None:
    with in_schema(site):
        for number in range(count):
            add_user(email=f"bulk{number}@{site.organisation.slug}.test", acting_user=None)
            Department.objects.create(name=f"Bulk {number}")


# Queries, with the host cache warm as on a live site (portal/hosts.py: no query for the
# organisation, and no search_path switch through public): the user, the subscription with
# its plan, then the page's own reads (entitlements: one query with a cold cache, none with
# a warm one). Before the host cache: 9, 7 and 8; before the session was read through the
# cache (portal/sessions.py), and the departments counted only when some are hidden: 7, 6
# and 6. The users list counts them too, for its pages. The dashboard's count of active
# users is the one kept with the subscription (Subscription.seats_in_use), already read.
@pytest.mark.parametrize(("path", "queries"), [("/", 4), ("/users/", 5), ("/departments/", 4)])
def test_query_budget_does_not_grow_with_the_data(
    northwind: Site, django_assert_num_queries, path: str, queries: int
) -> None:
    client = signed_in(northwind, "admin")
    client.get(path)  # the host cache warms
    caches["entitlements"].clear()
    with django_assert_num_queries(queries):
        assert client.get(path).status_code == 200
    _add_users(northwind, 6)
    caches["entitlements"].clear()
    with django_assert_num_queries(queries):
        assert client.get(path).status_code == 200


def test_a_warm_entitlements_cache_saves_the_query(
    northwind: Site, django_assert_num_queries
) -> None:
    client = signed_in(northwind, "admin")
    client.get("/departments/")
    with django_assert_num_queries(3):  # one fewer than the budget above
        assert client.get("/departments/").status_code == 200


def test_the_users_list_comes_a_page_at_a_time(northwind: Site) -> None:
    with in_schema(northwind):
        for number in range(USERS_PER_PAGE):  # 55 users with the site's five
            User.objects.create_user(f"many{number:02}@northwind.test", None, is_active=False)
    client = signed_in(northwind, "admin")
    first = client.get("/users/").content.decode()
    second = client.get("/users/", {"page": 2}).content.decode()
    rows = [page.count("<tr") - 1 for page in (first, second)]  # less the heading row
    assert rows == [USERS_PER_PAGE, 5]
    assert (first + second).count("many") == 2 * USERS_PER_PAGE  # name and address, once
    assert 'rel="next"' in first and 'rel="prev"' in second and 'rel="next"' not in second
    for odd in ("abc", "999", "-1"):  # the nearest page, not an error
        assert client.get("/users/", {"page": odd}).status_code == 200


def test_an_invitation_ends_with_the_way_in_and_a_used_link_says_so(northwind: Site) -> None:
    """The invited person sets a password and is shown where to sign in (the site's
    address, a sign-in button), in words that fit (set, not changed); the same link opened
    again says it was used, and how to go on."""
    with schema_context(northwind.organisation.schema_name):
        services.invite_user(
            organisation=northwind.organisation,
            email="new@northwind.test",
            full_name="新田 さくら",
            acting_user=northwind.user("admin"),
        )
    [message] = send_queued_emails()
    [link] = re.findall(r"http://\S+/accounts/password/reset/key/\S+", str(message.body))
    path = "/" + link.split("/", 3)[3]
    browser = site_client(northwind)
    form = browser.get(path, follow=True, HTTP_ACCEPT_LANGUAGE="ja")
    assert "パスワードの設定" in form.content.decode()
    password = "a-long-new-password-42"
    done = browser.post(
        form.redirect_chain[-1][0] if form.redirect_chain else path,
        {"password1": password, "password2": password},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    page = done.content.decode()
    assert 'data-testid="password-set"' in page and "パスワードを設定しました" in page
    assert northwind.host in page and 'data-testid="sign-in"' in page
    assert page.count("パスワードを変更しました") <= 1
    again = site_client(northwind).get(path, follow=True, HTTP_ACCEPT_LANGUAGE="ja")
    used = again.content.decode()
    assert 'data-testid="link-used"' in used and "不正なトークン" not in used
