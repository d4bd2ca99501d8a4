"""The host cache (portal/hosts.py): an organisation's site resolves its tenant with no
query once warm, as the public site does; whatever changes an organisation or its host
names is seen by the next request; unknown hosts are not cached."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.models import Domain, Organisation
from tests.conftest import Site, signed_in, site_client

pytestmark = pytest.mark.django_db


def test_a_warm_cache_resolves_an_organisation_with_no_query(
    northwind: Site, django_assert_num_queries
) -> None:
    client = site_client(northwind)
    with django_assert_num_queries(1):  # the host, once
        assert client.get("/favicon.ico").status_code == 302
    with django_assert_num_queries(0):  # as the same view on the public site
        assert client.get("/favicon.ico").status_code == 302
    with django_assert_num_queries(0):
        assert Client(HTTP_HOST="localhost").get("/favicon.ico").status_code == 302


def test_each_host_reaches_its_own_organisation_from_the_cache(
    northwind: Site, contoso: Site
) -> None:
    for _ in range(2):  # cold, then warm
        for site in (northwind, contoso):
            page = signed_in(site, "primary").get("/").content.decode()
            assert site.organisation.name in page


def test_a_renamed_organisation_is_seen_by_the_next_request(
    northwind: Site, django_capture_on_commit_callbacks
) -> None:
    client = signed_in(northwind, "primary")
    assert "Northwind Inc." in client.get("/").content.decode()  # cached now
    with django_capture_on_commit_callbacks(execute=True):
        organisation = Organisation.objects.get(pk=northwind.organisation.pk)
        organisation.name = "Northwind Trading"
        organisation.save()
    assert "Northwind Trading" in client.get("/").content.decode()


def test_host_names_added_and_removed_are_seen_at_once(
    northwind: Site, django_capture_on_commit_callbacks
) -> None:
    other = Client(HTTP_HOST="nw.localhost")
    assert other.get("/favicon.ico").status_code == 404  # unknown, and not cached
    with django_capture_on_commit_callbacks(execute=True):
        domain = Domain.objects.create(domain="nw.localhost", tenant=northwind.organisation)
    assert other.get("/favicon.ico").status_code == 302  # cached now
    with django_capture_on_commit_callbacks(execute=True):
        domain.delete()
    assert other.get("/favicon.ico").status_code == 404
