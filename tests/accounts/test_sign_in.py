"""Sign-in with allauth on each organisation's site, and nowhere else."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import deactivate_user, reactivate_user
from organisations.services import create_organisation
from tests.conftest import PASSWORD, Site, send_queued_emails, site_client
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


@pytest.mark.parametrize("role", ["primary", "super", "admin", "agent"])
def test_users_sign_in_on_their_own_site(northwind: Site, role: str) -> None:
    client = site_client(northwind)
    response = sign_in(client, northwind.email(role))
    assert response.status_code == 302
    assert response["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert northwind.user(role).full_name in dashboard.content.decode()


def test_wrong_password_is_refused_with_a_message(northwind: Site) -> None:
    client = site_client(northwind)
    response = sign_in(client, northwind.email("agent"), "not-the-password")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert client.get("/").status_code == 302


def test_repeated_failures_are_rate_limited_per_address(northwind: Site) -> None:
    client = site_client(northwind)
    for _ in range(5):
        assert sign_in(client, northwind.email("agent"), "wrong-guess").status_code == 200
    response = sign_in(client, northwind.email("agent"))  # even the right password
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/").status_code == 302
    # Another address from the same place is not locked out.
    assert sign_in(client, northwind.email("admin")).status_code == 302


def test_a_deactivated_user_cannot_sign_in(northwind: Site) -> None:
    client = site_client(northwind)
    response = sign_in(client, northwind.email("inactive"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/inactive/"
    assert client.get("/").status_code == 302
    # It says why (the plan's seats) and whom to ask, in the reader's language.
    page = client.get("/accounts/inactive/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="account-inactive"' in page
    assert "シート数" in page and "メインの連絡先" in page and northwind.organisation.name in page


def test_deactivation_ends_the_users_sessions_and_reactivation_does_not_revive_them(
    northwind: Site,
) -> None:
    browser = site_client(northwind)
    assert sign_in(browser, northwind.email("agent")).status_code == 302
    assert browser.get("/").status_code == 200
    with schema_context(northwind.organisation.schema_name):
        deactivate_user(northwind.user("agent"), acting_user=None)
        assert browser.get("/").status_code == 302
        reactivate_user(northwind.user("agent"), acting_user=None)
    assert browser.get("/").status_code == 302  # the old session stays ended
    assert "_auth_user_id" not in browser.session
    again = site_client(northwind)
    assert sign_in(again, northwind.email("agent")).status_code == 302
    assert again.get("/").status_code == 200


def test_sessions_from_before_session_ends_existed_stay_valid(northwind: Site) -> None:
    """A user never deactivated keeps Django's own session hash: signing in before the
    upgrade that added ``session_epoch`` does not sign anyone out."""
    user = northwind.user("agent")
    assert user.session_epoch == 0
    assert user.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(user)


def test_a_user_cannot_sign_in_on_another_organisations_site(
    northwind: Site, contoso: Site
) -> None:
    client = site_client(contoso)
    response = sign_in(client, northwind.email("agent"))
    assert response.status_code == 200
    assert client.get("/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_session_cookie_is_worthless_on_another_site(northwind: Site, contoso: Site) -> None:
    northwind_client = site_client(northwind)
    assert sign_in(northwind_client, northwind.email("super")).status_code == 302
    session_id = northwind_client.cookies["sessionid"].value

    for host in (contoso.host, "localhost"):
        replay = Client(HTTP_HOST=host)
        replay.cookies["sessionid"] = session_id
        path = "/" if host != "localhost" else "/admin/"
        response = replay.get(path)
        assert response.status_code == 302, host
        assert "login" in response["Location"]


def test_there_is_no_open_sign_up(northwind: Site) -> None:
    client = site_client(northwind)
    response = client.post(
        "/accounts/signup/",
        {"email": "stranger@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert "Sign Up Closed" in response.content.decode()
    with schema_context(northwind.organisation.schema_name):
        assert not User.objects.filter(email="stranger@example.com").exists()


def test_sign_out(northwind: Site) -> None:
    client = site_client(northwind)
    sign_in(client, northwind.email("agent"))
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def _follow_set_password_link(host: str, link: str, password: str) -> None:
    client = Client(HTTP_HOST=host)
    path = urlsplit(link).path
    response = client.get(path)  # allauth stores the key and redirects
    assert response.status_code == 302
    form_path = response["Location"]
    response = client.post(form_path, {"password1": password, "password2": password})
    assert response.status_code == 302, response.content.decode()


def test_a_new_organisations_primary_contact_sets_a_password_and_signs_in(db) -> None:
    created = create_organisation(
        name="Initech", slug="initech", primary_contact_email="peter@initech.test"
    )
    host = "initech.localhost"
    assert sign_in(Client(HTTP_HOST=host), "peter@initech.test", "").status_code == 200
    _follow_set_password_link(host, created.set_password_url, "fresh-password-9876")
    client = Client(HTTP_HOST=host)
    assert sign_in(client, "peter@initech.test", "fresh-password-9876").status_code == 302
    assert client.get("/").status_code == 200
    # The link works once.
    response = Client(HTTP_HOST=host).get(urlsplit(created.set_password_url).path, follow=True)
    assert 'data-testid="link-used"' in response.content.decode()  # and says what to do


def test_password_reset_by_email(northwind: Site) -> None:
    client = site_client(northwind)
    response = client.post("/accounts/password/reset/", {"email": northwind.email("agent")})
    assert response.status_code == 302
    assert mail.outbox == []  # queued: a worker sends it
    [message] = send_queued_emails()
    link = re.search(r"http://northwind\.localhost(:\d+)?/\S+", str(message.body))
    assert link is not None
    _follow_set_password_link(northwind.host, link.group(0), "brand-new-password-55")
    assert (
        sign_in(
            site_client(northwind), northwind.email("agent"), "brand-new-password-55"
        ).status_code
        == 302
    )


def test_a_reset_for_an_unknown_address_sends_nothing(northwind: Site) -> None:
    client = site_client(northwind)
    response = client.post("/accounts/password/reset/", {"email": "stranger@elsewhere.test"})
    assert response.status_code == 302  # the same answer as for a known address
    assert send_queued_emails() == []
    assert mail.outbox == []


def test_vendor_staff_sign_in_to_the_admin_on_the_public_site_only(northwind: Site) -> None:
    StaffFactory.create(email="staff@vendor.test", superuser=True)  # public schema
    admin = Client(HTTP_HOST="localhost")
    assert sign_in(admin, "staff@vendor.test").status_code == 302
    assert admin.get("/admin/").status_code == 200
    # Staff are not users of an organisation ...
    assert sign_in(site_client(northwind), "staff@vendor.test").status_code == 200
    # ... and organisation users are not staff.
    outsider = Client(HTTP_HOST="localhost")
    assert sign_in(outsider, northwind.email("primary")).status_code == 200
    assert outsider.get("/admin/").status_code == 302
