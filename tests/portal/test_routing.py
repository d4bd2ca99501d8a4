"""Requests reach the right schema and URL conf by host name."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context

from tests.conftest import Site, signed_in, site_client

pytestmark = pytest.mark.django_db


def test_public_host_serves_the_landing_page_without_a_tenant_lookup(
    django_assert_num_queries,
) -> None:
    with django_assert_num_queries(0):
        response = Client(HTTP_HOST="localhost").get("/")
    assert response.status_code == 200
    assert b'name="address"' in response.content


def test_landing_page_sends_a_known_address_to_its_sign_in(northwind: Site) -> None:
    client = Client(HTTP_HOST="localhost")
    for typed in (
        "northwind",
        " NORTHWIND ",
        "northwind.localhost",
        "http://northwind.localhost:8000/whatever",
    ):
        response = client.get("/", {"address": typed})
        assert response.status_code == 302, typed
        assert response["Location"] == "http://northwind.localhost:8000/accounts/login/"


def test_landing_page_explains_an_unknown_address(northwind: Site) -> None:
    response = Client(HTTP_HOST="localhost").get("/", {"address": "no-such-org"})
    assert response.status_code == 400
    assert "could not find an organisation" in response.content.decode()


def test_organisation_host_reaches_its_own_schema(northwind: Site, contoso: Site) -> None:
    for site in (northwind, contoso):
        response = site_client(site).get("/accounts/login/")
        assert response.status_code == 200
        assert site.organisation.name in response.content.decode()


def test_organisation_pages_need_a_sign_in(northwind: Site) -> None:
    response = site_client(northwind).get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "host", ["nobody.localhost", "northwind.localhost.evil.example", "evil.example"]
)
def test_unknown_host_gets_a_clean_404_page(northwind: Site, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 404
    assert "No organisation here" in response.content.decode()
    # The security headers every other page has.
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_the_unknown_host_page_speaks_the_browsers_language() -> None:
    response = Client(HTTP_HOST="nobody.localhost", HTTP_ACCEPT_LANGUAGE="ja").get("/")
    assert response.status_code == 404
    assert '<html lang="ja"' in response.content.decode()
    assert "No organisation here" not in response.content.decode()


def test_unknown_path_on_an_organisation_site_is_a_404_page(northwind: Site) -> None:
    response = signed_in(northwind, "agent").get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_admin_exists_only_on_the_public_site(northwind: Site) -> None:
    response = Client(HTTP_HOST="localhost").get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    assert site_client(northwind).get("/admin/").status_code == 404
    assert site_client(northwind).get("/admin/login/").status_code == 404


def test_cache_entries_never_cross_organisations(northwind: Site, contoso: Site) -> None:
    with schema_context(northwind.organisation.schema_name):
        cache.set("greeting", "hello from northwind")
    with schema_context(contoso.organisation.schema_name):
        assert cache.get("greeting") is None
    with schema_context(northwind.organisation.schema_name):
        assert cache.get("greeting") == "hello from northwind"
    cache.clear()


def test_session_cookie_is_host_only(northwind: Site) -> None:
    response = site_client(northwind).post(
        "/accounts/login/",
        {"login": northwind.email("agent"), "password": "a-long-test-password-42"},
    )
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["domain"] == ""
    assert cookie["httponly"]


@pytest.mark.parametrize(
    "host",
    [
        "NORTHWIND.LOCALHOST",
        "Northwind.localhost",
        "northwind.localhost.",
        "northwind.localhost.:8000",
    ],
)
def test_a_host_name_in_capitals_or_with_its_final_dot_reaches_its_organisation(
    northwind: Site, host: str
) -> None:
    response = Client(HTTP_HOST=host).get("/accounts/login/")
    assert response.status_code == 200
    assert response.wsgi_request.tenant == northwind.organisation  # type: ignore[attr-defined]


@pytest.mark.parametrize("host", ["LOCALHOST", "localhost."])
def test_the_public_host_in_capitals_or_with_its_final_dot_is_the_public_site(host: str) -> None:
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 200
    assert getattr(response.wsgi_request, "organisation", "unset") is None
