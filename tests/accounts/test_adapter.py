"""allauth's hooks (accounts/adapter.py): where a sign-in lands, on the public site and on an
organisation's, and which ``next`` it follows."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD, Site, signed_in, site_client
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, email: str, query: str = ""):
    return client.post(f"/accounts/login/{query}", {"login": email, "password": PASSWORD})


@pytest.mark.parametrize(
    "query", ["", "?next=", "?next=https://evil.test/", "?next=//evil.test/admin/"]
)
def test_staff_signing_in_on_the_public_site_land_on_the_admin(query: str) -> None:
    StaffFactory.create(email="staff@vendor.test")
    client = Client(HTTP_HOST="localhost")
    response = _sign_in(client, "staff@vendor.test", query)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_signed_in_staff_opening_the_sign_in_page_are_sent_to_the_admin() -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(StaffFactory.create(email="staff@vendor.test"))
    response = client.get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_public_user_who_is_not_staff_lands_on_the_public_page() -> None:
    UserFactory.create(email="someone@vendor.test")
    response = _sign_in(Client(HTTP_HOST="localhost"), "someone@vendor.test")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_next_on_the_same_site_is_followed(northwind: Site) -> None:
    for target in ("/users/", f"http://{northwind.host}/users/"):
        response = _sign_in(site_client(northwind), northwind.email("primary"), f"?next={target}")
        assert response["Location"] == target


@pytest.mark.parametrize("port", ["", ":8000"])
def test_a_next_on_another_organisations_site_is_not_followed(
    northwind: Site, contoso: Site, port: str
) -> None:
    target = f"http://{contoso.host}{port}/users/"
    response = _sign_in(site_client(northwind), northwind.email("primary"), f"?next={target}")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_next_on_the_public_site_is_not_followed_from_an_organisations_site(
    northwind: Site,
) -> None:
    response = _sign_in(
        site_client(northwind), northwind.email("primary"), "?next=http://localhost/admin/"
    )
    assert response["Location"] == "/"


def test_a_signed_in_user_opening_the_sign_in_page_of_their_site_goes_home(
    northwind: Site,
) -> None:
    response = signed_in(northwind, "agent").get("/accounts/login/?next=http://evil.test/")
    assert response.status_code == 302
    assert response["Location"] == "/"
