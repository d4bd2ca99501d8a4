"""The host cache (portal/hosts.py): an organisation's site resolves its tenant with no
query once warm, as the public site does; whatever changes an organisation or its host
names is seen by the next request of the process that made the change, and by the
others within PORTAL_HOST_LOCAL_SECONDS; unknown hosts are not cached."""

from __future__ import annotations

from typing import cast

import pytest
from django.core.cache import caches
from django.test import Client

from portal import hosts
from portal.http import PortalRequest
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


def test_a_domain_renamed_stops_reaching_its_organisation_by_the_old_name(
    northwind: Site, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        domain = Domain.objects.create(domain="nw.localhost", tenant=northwind.organisation)
    assert Client(HTTP_HOST="nw.localhost").get("/favicon.ico").status_code == 302  # cached
    with django_capture_on_commit_callbacks(execute=True):
        domain.domain = "northwind-trading.localhost"
        domain.save()
    assert Client(HTTP_HOST="nw.localhost").get("/favicon.ico").status_code == 404
    assert Client(HTTP_HOST="northwind-trading.localhost").get("/favicon.ico").status_code == 302


def _renamed_by_another_process(site: Site, name: str) -> None:
    """What another process's rename leaves here: the row changed and the shared cache
    forgotten (by that process, after its commit), this process's own layer untouched."""
    Organisation.objects.filter(pk=site.organisation.pk).update(name=name)
    caches["hosts"].clear()


def test_another_process_change_reaches_this_one_within_the_local_seconds(
    northwind: Site, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PORTAL_HOST_LOCAL_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(hosts, "seconds", lambda: now[0])
    client = signed_in(northwind, "primary")
    assert "Northwind Inc." in client.get("/").content.decode()  # in both layers now
    _renamed_by_another_process(northwind, "Northwind Trading")
    now[0] += 4.9
    assert "Northwind Inc." in client.get("/").content.decode()  # this process's copy
    now[0] += 0.2  # the copy's five seconds are over
    assert "Northwind Trading" in client.get("/").content.decode()


def test_without_the_local_layer_another_process_change_is_read_at_once(
    northwind: Site, settings
) -> None:
    settings.PORTAL_HOST_LOCAL_SECONDS = 0
    client = signed_in(northwind, "primary")
    assert "Northwind Inc." in client.get("/").content.decode()
    _renamed_by_another_process(northwind, "Northwind Trading")
    assert "Northwind Trading" in client.get("/").content.decode()


def test_each_request_gets_its_own_organisation_object(northwind: Site) -> None:
    client = site_client(northwind)
    first = cast(PortalRequest, client.get("/favicon.ico").wsgi_request).organisation
    second = cast(PortalRequest, client.get("/favicon.ico").wsgi_request).organisation
    assert first == second == northwind.organisation  # the same row ...
    assert first is not second  # ... but nothing one request caches on it reaches the next


def test_each_process_keeps_at_most_so_many_host_names(
    northwind: Site, contoso: Site, settings
) -> None:
    """With traffic spread over every organisation the process's copy would hold them all:
    the least recently used goes first."""
    settings.PORTAL_HOST_LOCAL_MAX = 2
    third = Domain.objects.create(domain="third.localhost", tenant=northwind.organisation)
    hosts.forget_all()
    for host in (northwind.host, contoso.host, northwind.host, third.domain):
        assert hosts.organisation_for_host(host) is not None
    assert list(hosts._local) == [northwind.host, third.domain]  # contoso, least recent, went
    assert hosts.organisation_for_host("unknown.localhost") is None  # unknown: not kept
    assert len(hosts._local) == 2
