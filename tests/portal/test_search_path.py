"""The search path is sent once per real schema switch (portal/db/postgresql_backend).

A request switches at most twice: to public for the domain lookup (only if the
connection is not on public already) and from public to the organisation. The services
then enter and leave ``schema_context(organisation.schema_name)`` while already on it:
django-tenants re-sent the same SET on each of those (the plan-change POST sent 10 SETs
in 38 queries before; see the figures printed with ``-s``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import cast

import pytest
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from django_tenants.postgresql_backend.base import FakeTenant
from django_tenants.utils import schema_context, tenant_context

from portal.db.postgresql_backend.base import DatabaseWrapper
from portal.models import Organisation
from tests.conftest import Site, confirmation_of, signed_in

# The connection as django-tenants' backend (ours) types it.
tenants = cast(DatabaseWrapper, connection)

pytestmark = pytest.mark.django_db

PUBLIC = 'SET search_path = "public"'


def _set_for(schema: str) -> str:
    return f'SET search_path = "{schema}","public"'


def _sets(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SET search_path")]


def _report(label: str, captured: CaptureQueriesContext) -> None:
    print(f"\n{label}: {len(captured)} queries, {len(_sets(captured))} SET search_path")
    for number, query in enumerate(captured.captured_queries, 1):
        print(f"  {number:2} {query['sql'][:110]}")


def _key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page)
    assert match, "the form carries an idempotency key"
    return match.group(1)


def _query(conn: BaseDatabaseWrapper = connection) -> None:
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1")


def _session_path(conn: BaseDatabaseWrapper = connection) -> str:
    """What the database session really uses (after whatever SET the cursor needed)."""
    with conn.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]


def _no_repeats(sets: list[str], before: str) -> None:
    """Every SET changes the path: none repeats the one the session already had."""
    previous = before
    for statement in sets:
        assert statement != previous, f"{statement} repeats the path the session had"
        previous = statement


# --- Requests ----------------------------------------------------------------------------


PLAN_CHANGE_POST = 22  # 23 before the session was read through the cache (portal/sessions.py)


def test_a_plan_change_sets_no_path_on_a_connection_on_its_organisation(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    form = confirmation_of(client.get("/store/plans/professional/").content.decode())
    schema = northwind.organisation.schema_name
    # The GET left the connection on northwind.
    assert tenants.schema_name == schema
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/store/plans/professional/", form)
    _report("plan-change POST (connection left on the organisation)", captured)
    assert response.status_code == 302
    # Before: 38 queries, 10 SETs (8 of them repeating "org_northwind","public"). Then 30;
    # +1 for the change scheduled for the period's end (cancelled by a change now), +1 for
    # queueing the email (a job written in the change's transaction); then the host cache
    # (portal/hosts.py): no lookup on public, so no SET at all on a connection already on
    # the organisation, and the subscription read once instead of with the host: 30; then
    # the confirmation previews the change once, in the service, not also in the view: 22;
    # +1 for the period's invoices, whose tax goes back with the downgrade's refund: 23.
    assert _sets(captured) == []
    assert len(captured) == PLAN_CHANGE_POST


def test_a_plan_change_from_a_connection_on_public_sets_the_path_once(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    form = confirmation_of(client.get("/store/plans/professional/").content.decode())
    tenants.set_schema_to_public()
    assert _session_path() == "public"
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/store/plans/professional/", form)
    _report("plan-change POST (connection on public)", captured)
    assert response.status_code == 302
    assert _sets(captured) == [_set_for(northwind.organisation.schema_name)]
    assert len(captured) == PLAN_CHANGE_POST + 1


def test_the_dashboard_sets_no_path_on_a_connection_on_its_organisation(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    client.get("/")  # warm the entitlements cache
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    _report("dashboard GET", captured)
    # 8 queries and 2 SETs before the host cache; now no SET (the connection stays on the
    # organisation) and no lookup of the host. 6 before the session was read through the
    # cache (portal/sessions.py) and the departments counted only when some are hidden; 4
    # before the active users were the count kept with the subscription.
    assert _sets(captured) == []
    assert len(captured) == 3


# --- The backend itself, on the test's connection ----------------------------------------


def test_schema_context_on_the_schema_the_connection_is_on_sends_no_set(northwind: Site) -> None:
    schema = northwind.organisation.schema_name
    with schema_context(schema):
        _query()  # the switch from public
        with CaptureQueriesContext(connection) as captured:
            with schema_context(schema):
                _query()
            _query()
            with schema_context(schema), schema_context(schema):
                _query()
            _query()
        assert _sets(captured) == []
        assert len(captured) == 4
        assert _session_path() == f"{schema}, public"


def test_the_tenant_follows_the_call_even_when_no_set_is_needed(northwind: Site) -> None:
    organisation = northwind.organisation
    tenants.set_schema_to_public()
    _query()
    assert isinstance(tenants.tenant, FakeTenant)
    with CaptureQueriesContext(connection) as captured:
        tenants.set_schema(organisation.schema_name)
        _query()  # the one real switch
        with tenant_context(organisation):
            assert tenants.tenant is organisation
            _query()
        assert tenants.tenant is not organisation
        assert tenants.tenant.schema_name == organisation.schema_name
        public = Organisation(schema_name="public")  # an Organisation, not a FakeTenant
        tenants.set_tenant(public)
        _query()  # a real switch back
        tenants.set_schema_to_public()
        assert tenants.tenant is not public
        assert tenants.tenant.schema_name == "public"
        assert isinstance(tenants.tenant, FakeTenant)
        _query()
    assert _sets(captured) == [_set_for(organisation.schema_name), PUBLIC]


def test_a_real_switch_and_back_sends_both(northwind: Site, contoso: Site) -> None:
    there, elsewhere = northwind.organisation.schema_name, contoso.organisation.schema_name
    with schema_context(there):
        _query()
        with CaptureQueriesContext(connection) as captured:
            with schema_context(elsewhere):
                _query()
                assert _session_path() == f"{elsewhere}, public"
            _query()
            assert _session_path() == f"{there}, public"
        assert _sets(captured) == [_set_for(elsewhere), _set_for(there)]


def test_choosing_another_schema_and_back_without_a_query_needs_no_set(
    northwind: Site, contoso: Site
) -> None:
    """The session never left: it is the path the database has that counts."""
    there, elsewhere = northwind.organisation.schema_name, contoso.organisation.schema_name
    with schema_context(there):
        _query()
        with CaptureQueriesContext(connection) as captured:
            with schema_context(elsewhere):
                pass
            _query()
        assert _sets(captured) == []
        assert _session_path() == f"{there}, public"


def test_the_same_schema_without_public_is_another_path(northwind: Site) -> None:
    schema = northwind.organisation.schema_name
    tenants.set_schema(schema)
    _query()
    with CaptureQueriesContext(connection) as captured:
        tenants.set_schema(schema, include_public=False)
        assert _session_path() == schema
        tenants.set_schema(schema, include_public=False)
        _query()
        tenants.set_schema(schema)
        assert _session_path() == f"{schema}, public"
    assert _sets(captured) == [f'SET search_path = "{schema}"', _set_for(schema)]


def test_after_a_rollback_to_a_savepoint_the_path_is_sent_again(northwind: Site) -> None:
    """ROLLBACK TO SAVEPOINT reverts a SET made after the savepoint: the database is back
    on public while the connection still says northwind, so the path must be re-sent."""
    schema = northwind.organisation.schema_name
    tenants.set_schema_to_public()
    _query()
    with CaptureQueriesContext(connection) as captured:
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            tenants.set_schema(schema)
            _query()
            1 / 0  # noqa: B018
        assert tenants.schema_name == schema
        assert _session_path() == f"{schema}, public"
    assert _sets(captured) == [_set_for(schema), _set_for(schema)]


def test_a_savepoint_rolled_back_by_hand_forgets_the_path(northwind: Site) -> None:
    """Without the atomic block's RELEASE right after (which re-sends the path on its
    own), a schema_context on the schema chosen in the savepoint must still send it."""
    schema = northwind.organisation.schema_name
    tenants.set_schema_to_public()
    _query()
    with CaptureQueriesContext(connection) as captured:
        sid = transaction.savepoint()
        tenants.set_schema(schema)
        _query()
        transaction.savepoint_rollback(sid)  # the database is back on public
        with schema_context(schema):
            assert _session_path() == f"{schema}, public"
    assert _sets(captured) == [_set_for(schema), _set_for(schema)]


def test_after_a_rollback_to_a_savepoint_the_same_schema_is_sent_again(northwind: Site) -> None:
    """Even a schema_context on the schema already chosen re-sends it after a rollback:
    the rollback forgets the path, whatever was chosen."""
    schema = northwind.organisation.schema_name
    tenants.set_schema(schema)
    _query()
    with CaptureQueriesContext(connection) as captured:
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            _query()
            1 / 0  # noqa: B018
        with schema_context(schema):
            _query()
    assert _sets(captured) == [_set_for(schema)]


# --- The backend on a connection of its own (a real ROLLBACK, a new session) -------------


@pytest.fixture
def own_connection(sites: dict[str, Site]) -> Iterator[BaseDatabaseWrapper]:
    """A second connection to the test database, outside the test's transaction (the
    organisations' schemas are committed by the session fixture)."""
    other = connection.copy()
    try:
        yield other
    finally:
        other.close()


def test_after_a_rollback_the_path_is_sent_again(
    own_connection: BaseDatabaseWrapper, sites: dict[str, Site]
) -> None:
    schema = sites["northwind"].organisation.schema_name
    conn = own_connection
    cast(DatabaseWrapper, conn).set_schema_to_public()
    _query(conn)
    conn.set_autocommit(False)
    try:
        with CaptureQueriesContext(conn) as captured:
            cast(DatabaseWrapper, conn).set_schema(schema)
            _query(conn)
            conn.rollback()  # the database is back on public
            assert _session_path(conn) == f"{schema}, public"
            conn.rollback()
            cast(DatabaseWrapper, conn).set_schema(schema)
            _query(conn)
        assert _sets(captured) == [_set_for(schema), _set_for(schema), _set_for(schema)]
    finally:
        conn.rollback()
        conn.set_autocommit(True)


def test_a_committed_path_survives_a_later_schema_context_on_it(
    own_connection: BaseDatabaseWrapper, sites: dict[str, Site]
) -> None:
    schema = sites["northwind"].organisation.schema_name
    conn = own_connection
    with CaptureQueriesContext(conn) as captured:
        cast(DatabaseWrapper, conn).set_schema(schema)
        _query(conn)  # autocommit: the SET stays
        cast(DatabaseWrapper, conn).set_schema(schema)
        assert _session_path(conn) == f"{schema}, public"
    assert _sets(captured) == [_set_for(schema)]


def test_a_new_connection_gets_the_path_again(
    own_connection: BaseDatabaseWrapper, sites: dict[str, Site]
) -> None:
    schema = sites["northwind"].organisation.schema_name
    conn = own_connection
    cast(DatabaseWrapper, conn).set_schema(schema)
    _query(conn)
    conn.close()
    cast(DatabaseWrapper, conn).set_schema(schema)
    with CaptureQueriesContext(conn) as captured:
        assert _session_path(conn) == f"{schema}, public"
    assert _sets(captured) == [_set_for(schema)]
