"""A persistent connection's life (portal/db/postgresql_backend): closed between requests once
it has visited ``PORTAL_CONNECTION_MAX_SCHEMAS`` organisations (a session's catalog cache grows
with each), and checked before a request reuses it without a round trip (``is_usable``). Each
test opens a connection of its own, outside the test's transaction, as a web process has."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django_tenants.utils import get_public_schema_name

from portal.db.postgresql_backend.base import DatabaseWrapper
from tests.conftest import Site, owner_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def own() -> Iterator[DatabaseWrapper]:
    """A connection of its own, in autocommit, as between two requests."""
    wrapper = connections.create_connection("default")
    assert isinstance(wrapper, DatabaseWrapper)
    yield wrapper
    wrapper.close()


def _visit(wrapper: DatabaseWrapper, schema: str) -> None:
    wrapper.set_schema(schema)
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_user")


def _pid(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_connection_that_visited_enough_organisations_is_closed_between_requests(
    own: DatabaseWrapper, northwind: Site, contoso: Site, settings: Any
) -> None:
    settings.PORTAL_CONNECTION_MAX_SCHEMAS = 2
    _visit(own, northwind.organisation.schema_name)
    _visit(own, northwind.organisation.schema_name)  # the same one again counts once
    _visit(own, get_public_schema_name())  # public is no organisation's
    own.close_if_unusable_or_obsolete()  # what request_finished does
    assert own.connection is not None
    first = _pid(own)

    _visit(own, contoso.organisation.schema_name)
    own.close_if_unusable_or_obsolete()
    assert own.connection is None  # the next request opens a new session
    _visit(own, contoso.organisation.schema_name)
    assert _pid(own) != first
    own.close_if_unusable_or_obsolete()
    assert own.connection is not None  # the new session has visited one


def test_never_within_a_transaction_and_not_at_all_with_zero(
    own: DatabaseWrapper, northwind: Site, contoso: Site, settings: Any
) -> None:
    settings.PORTAL_CONNECTION_MAX_SCHEMAS = 1
    _visit(own, northwind.organisation.schema_name)
    own.in_atomic_block = True  # as within a transaction.atomic() block
    own.close_if_unusable_or_obsolete()
    own.in_atomic_block = False
    assert own.connection is not None
    settings.PORTAL_CONNECTION_MAX_SCHEMAS = 0
    _visit(own, contoso.organisation.schema_name)
    own.close_if_unusable_or_obsolete()
    assert own.connection is not None


def test_the_health_check_sends_nothing_and_sees_a_session_the_server_ended(
    own: DatabaseWrapper,
) -> None:
    with own.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = _pid(own)
    assert own.is_usable()
    assert own.is_usable()
    with owner_role(), connection.cursor() as cursor:  # what the server saw last of it
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        assert cursor.fetchone()[0] == "SELECT pg_backend_pid()"

    with owner_role(), connection.cursor() as cursor:  # the user it logged in as
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while own.is_usable():  # the server's goodbye arrives on the socket
        assert time.monotonic() < deadline, "the ended session still looks usable"
        time.sleep(0.01)
    own.health_check_done = False
    own.close_if_health_check_failed()  # what the next request does first
    assert own.connection is None
    assert _pid(own) != pid  # a new session, and the request goes on
