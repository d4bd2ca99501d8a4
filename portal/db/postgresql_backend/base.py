"""django-tenants' database wrapper, minus the ``SET search_path`` that repeats what the
connection already has.

With ``TENANT_LIMIT_SET_CALLS`` django-tenants sends the search path once, before the
first cursor after a schema is chosen, and remembers it in ``search_path_set_schemas``.
But every ``set_tenant`` (and ``set_schema``, ``set_schema_to_public``, so every
``schema_context`` and ``tenant_context`` on the way in and out) forgets it, even when
the schema chosen is the one the connection is on: a service wrapped in
``schema_context(organisation.schema_name)`` inside that organisation's request sent
the same SET again on entering and again on leaving.

This wrapper also keeps the path the database session has (``_session_search_path``):
recorded when a SET succeeds, forgotten whenever django-tenants forgets its own copy
for a reason other than choosing a schema (close, rollback, rollback to a savepoint, a
failed SET) and on every new connection. Choosing a schema still forgets, as in
django-tenants; then, if the search path the choice needs is exactly the one the
session has (same schemas, same order: the schema, ``include_public`` and
``PG_EXTRA_SEARCH_PATHS`` all count), the known path is put back and no SET is sent.
Everything else ``set_tenant`` does still happens: the connection's ``tenant`` and
``schema_name`` follow the call (a FakeTenant and the Organisation for the same
schema are different objects), ``EXTRA_SET_TENANT_METHOD`` runs and the content type
cache is cleared.

A session that has visited ``PORTAL_CONNECTION_MAX_SCHEMAS`` organisations is closed between
requests (its catalog cache grows with each), and the health check before a request reuses a
connection sends nothing (``is_usable``).

A deleted organisation's schema name (``portal.db.names``) is refused: its schema is gone,
and a search path without it would read the public schema's tables in its place.

Only with ``TENANT_LIMIT_SET_CALLS = True``: without it django-tenants sends the SET
before every cursor anyway.

Its operations flush (the test suite's, between tests that commit) as the session's own user:
the tests run as the app role (``SET ROLE``, tests/conftest.py), which may not truncate.

A connection to the embedded server that no process started is refused with what starts
it (``embedded_postgres.NOT_STARTED``).

Used as ``DATABASES["default"]["ENGINE"] = "portal.db.postgresql_backend"``. Do not
point django-tenants' ``ORIGINAL_BACKEND`` here: that setting names the backend
*under* django-tenants' wrapper (Django's PostgreSQL one), and this module sits above.
"""

from __future__ import annotations

import select
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.utils.asyncio import async_unsafe
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantsDatabaseWrapper
from django_tenants.utils import get_public_schema_name
from psycopg.pq import TransactionStatus

from portal import embedded_postgres
from portal.db.names import DELETED_SCHEMA_PREFIX


class DeletedSchemaChosen(ImproperlyConfigured):
    """Code chose a deleted organisation's schema (a bug: it must check ``deleted_on``)."""


class DatabaseOperations(PostgresOperations):
    def execute_sql_flush(self, sql_list: Iterable[str]) -> None:
        """Only where a session may truncate at all (PORTAL_ALLOW_TRUNCATE: the test suite;
        the deploy check refuses it in production), as the session's own user for the
        flush's transaction. A session that logged in as the app role stays the app role."""
        if settings.PORTAL_ALLOW_TRUNCATE:
            sql_list = ["SET LOCAL ROLE NONE", *sql_list]
        super().execute_sql_flush(sql_list)


class DatabaseWrapper(TenantsDatabaseWrapper):
    ops_class = DatabaseOperations
    search_path_set_schemas: list[str] | None  # django-tenants': the path it need not send
    _setting_search_path: bool  # django-tenants': a SET is being sent

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before super().__init__(): it calls set_schema_to_public().
        self._session_search_path: list[str] | None = None
        # The organisations' schemas this session has had in its path.
        self._schemas_visited: set[str] = set()
        super().__init__(*args, **kwargs)

    # --- Choosing a schema: no SET when the session already has the path ---------------

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        if str(getattr(tenant, "schema_name", "")).startswith(DELETED_SCHEMA_PREFIX):
            raise DeletedSchemaChosen(
                f"{tenant.schema_name} is a deleted organisation's: it has no schema."
            )
        super().set_tenant(tenant, include_public)  # forgets search_path_set_schemas
        known = self._session_search_path
        if known is not None and self._wanted_search_path() == known:
            self.search_path_set_schemas = list(known)

    def _wanted_search_path(self) -> list[str] | None:
        """The path the next cursor would set; None for an invalid schema name, which
        then fails where django-tenants makes it fail (on the next cursor)."""
        try:
            return list(self._get_cursor_search_paths())
        except ValidationError:
            return None

    def _handle_search_path(self, cursor: Any = None) -> None:
        if self._setting_search_path:  # re-entered while the SET runs: nothing happens
            super()._handle_search_path(cursor)
            return
        try:
            super()._handle_search_path(cursor)
        except BaseException:
            self._session_search_path = None
            raise
        # The path just set, the path already known (no SET needed), or None when the
        # SET failed and the session's path is unknown.
        self._session_search_path = self.search_path_set_schemas
        if self.schema_name != get_public_schema_name():
            self._schemas_visited.add(self.schema_name)

    # --- A session's memory, and whether it is still there ------------------------------

    def close_if_unusable_or_obsolete(self) -> None:
        """Django's (at the start and end of each request, around each job): also close a
        session that has visited ``PORTAL_CONNECTION_MAX_SCHEMAS`` organisations' schemas.
        PostgreSQL caches the catalog of every table a session touched (about 60 KB per
        organisation's schema) until the session ends: bounded so, a long-lived connection
        serving every organisation in turn stays small (docs/performance.md)."""
        super().close_if_unusable_or_obsolete()
        limit = settings.PORTAL_CONNECTION_MAX_SCHEMAS
        if (
            self.connection is not None
            and limit
            and len(self._schemas_visited) >= limit
            and not self.in_atomic_block
        ):
            self.close()

    def is_usable(self) -> bool:
        """The health check before a request reuses the connection (``CONN_HEALTH_CHECKS``),
        without Django's round trip (``SELECT 1``): an idle session has nothing to read, so
        a socket that is readable (the server's goodbye, or its end of file after a restart
        or ``pg_terminate_backend``) or closed means a connection to open anew."""
        raw = self.connection
        if raw is None or raw.closed or raw.broken:
            return False
        if raw.info.transaction_status in (TransactionStatus.INERROR, TransactionStatus.UNKNOWN):
            return False  # a failed transaction left open, or a session lost
        try:
            readable, _, _ = select.select([raw.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    # --- When the session may have lost or never had the path --------------------------

    @async_unsafe
    def get_connection_params(self) -> dict[str, Any]:
        """Refuse, saying what starts it, the embedded server no process started (the
        settings load without starting it: portal/embedded_postgres.py)."""
        if self.settings_dict["HOST"] == embedded_postgres.NOT_STARTED:
            raise ImproperlyConfigured(embedded_postgres.NOT_STARTED_HELP)
        return super().get_connection_params()

    def connect(self) -> None:
        # A new session (or one from a pool) has the server's search path, not ours.
        self._session_search_path = None
        self.search_path_set_schemas = None
        self._schemas_visited = set()
        super().connect()

    @async_unsafe
    def close(self) -> None:
        self._session_search_path = None
        self._schemas_visited = set()
        super().close()

    @async_unsafe
    def rollback(self) -> None:
        # ROLLBACK reverts a SET made in the transaction; django-tenants forgets its copy.
        try:
            super().rollback()
        finally:
            self._session_search_path = None

    @async_unsafe
    def savepoint_rollback(self, sid: str) -> None:
        # So does ROLLBACK TO SAVEPOINT for a SET made after the savepoint. Forgotten after
        # the rollback, like django-tenants does: its cursor goes through _cursor(), which
        # could record a SET the rollback then discards.
        try:
            super().savepoint_rollback(sid)
        finally:
            self._session_search_path = None
