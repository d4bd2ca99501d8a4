"""portal/sessions.py: a session cookie Django could not have issued is no session."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.test import Client
from django_tenants.utils import schema_context

from portal.sessions import RENAMED_BACKENDS, SESSION_KEY, SessionStore
from tests.conftest import Site, signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("cookie", ["abcdefghij\x00klmnop", "x" * 31 + "\x00", "A" * 32, "ab cd"])
def test_a_malformed_session_cookie_is_no_session(northwind: Site, cookie: str) -> None:
    client = Client(HTTP_HOST=northwind.host)
    client.cookies["sessionid"] = cookie
    response = client.get("/")
    assert response.status_code == 302  # to the sign-in page, as with no cookie at all
    assert "/accounts/login/" in response["Location"]


def test_the_keys_django_issues_are_accepted(northwind: Site) -> None:
    client = signed_in(northwind, "agent")
    assert SESSION_KEY.fullmatch(client.cookies["sessionid"].value)
    assert client.get("/").status_code == 200
    store = SessionStore()
    store.create()
    key = store.session_key
    assert key is not None and SESSION_KEY.fullmatch(key)
    assert SessionStore(key).exists(key)


@pytest.mark.parametrize("before", list(RENAMED_BACKENDS))
def test_a_session_made_before_the_backends_were_renamed_stays_signed_in(
    northwind: Site, before: str
) -> None:
    client = signed_in(northwind, "agent")
    key = client.cookies["sessionid"].value
    with schema_context(northwind.organisation.schema_name):
        store = SessionStore(key)
        store[BACKEND_SESSION_KEY] = before
        store.save()

    assert client.get("/").status_code == 200
    with schema_context(northwind.organisation.schema_name):
        assert SessionStore(key)[BACKEND_SESSION_KEY] == RENAMED_BACKENDS[before]
