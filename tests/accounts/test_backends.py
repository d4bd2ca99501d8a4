"""The sign-in backends (accounts/backends.py): the signed-in user as Django's backends
find them, read with a prepared query."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import backends as django_backends
from django.db.models.sql.compiler import SQLCompiler

from accounts.backends import AuthenticationBackend, ModelBackend
from tests.conftest import Site, signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("backend", [ModelBackend(), AuthenticationBackend()])
def test_the_user_is_who_djangos_backend_finds(in_northwind: Site, backend: Any) -> None:
    stock = django_backends.ModelBackend()
    for role in ("primary", "agent", "inactive"):
        user_id = in_northwind.user_ids[role]
        found, expected = backend.get_user(user_id), stock.get_user(user_id)
        if expected is None:  # inactive
            assert found is None
        else:
            assert found is not None and found.pk == expected.pk
            assert found.get_session_auth_hash() == expected.get_session_auth_hash()
    assert backend.get_user(10**9) is None


def test_pages_read_the_user_without_compiling_it_again(
    northwind: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in(northwind, "agent")
    client.get("/")  # every query of the page compiled once in this process
    compiled: list[Any] = []
    as_sql = SQLCompiler.as_sql

    def counted(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        compiled.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counted)
    assert client.get("/").status_code == 200
    assert [model for model in compiled if model.__name__ == "User"] == []
