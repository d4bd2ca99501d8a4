"""Vendor staff reach the admin only through allauth's sign-in (rate-limited), and with
PORTAL_STAFF_MFA on only with a second factor."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client

from accounts.models import User
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password-1"


@pytest.fixture
def staff_mfa(settings) -> None:
    settings.PORTAL_STAFF_MFA = True


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _staff() -> User:
    """The staff member the tests sign in as "sec@vendor.test"."""
    return StaffFactory.create(email="sec@vendor.test", password=PASSWORD, superuser=True)


def test_the_admin_sign_in_goes_through_allauth(staff_mfa) -> None:
    client = Client(HTTP_HOST="localhost")
    response = client.get("/admin/login/?next=/admin/subscriptions/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fsubscriptions%2F"


def test_staff_without_a_second_factor_must_set_one_up_first(staff_mfa) -> None:
    _staff()
    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "sec@vendor.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302
    activate = response["Location"]
    assert activate.startswith("/accounts/2fa/totp/activate/")
    # allauth asks for the password again before a second factor is set up.
    response = client.get(activate)
    assert response["Location"].startswith("/accounts/reauthenticate/")
    client.post(response["Location"], {"password": PASSWORD})
    page = client.get(activate)
    assert page.status_code == 200 and 'name="code"' in page.content.decode()


def test_staff_with_totp_sign_in_with_the_code(staff_mfa) -> None:
    staff = _staff()
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "sec@vendor.test", "password": PASSWORD}
    )
    assert response.status_code == 302 and "/accounts/2fa/authenticate/" in response["Location"]
    assert client.get("/admin/").status_code == 302  # not signed in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    response = client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()


def test_with_the_setting_off_staff_sign_in_through_allauth_without_a_code(settings) -> None:
    settings.PORTAL_STAFF_MFA = False
    _staff()
    client = Client(HTTP_HOST="localhost")
    # The admin's own form is not used: a password posted to it is not even read.
    refused = client.post(
        "/admin/login/?next=/admin/", {"username": "sec@vendor.test", "password": PASSWORD}
    )
    assert refused.status_code == 302
    assert refused["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert client.get("/admin/").status_code == 302
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "sec@vendor.test", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("mfa", [False, True])
def test_staff_sign_in_is_rate_limited(settings, mfa: bool) -> None:
    settings.PORTAL_STAFF_MFA = mfa
    _staff()
    client = Client(HTTP_HOST="localhost")
    for _ in range(30):
        client.post(
            "/accounts/login/?next=/admin/", {"login": "sec@vendor.test", "password": "guess"}
        )
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "sec@vendor.test", "password": PASSWORD}
    )
    assert response.status_code == 429  # refused before the password is even checked
    assert "Too many attempts" in response.content.decode()
    assert client.get("/admin/").status_code == 302
