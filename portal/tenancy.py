"""Typed access to the connection's tenant (django-tenants adds these attributes to the
database connection at run time, where type checkers cannot see them)."""

from __future__ import annotations

from typing import Any, cast

from django.db import connection
from django_tenants.utils import get_public_schema_name


def _tenant_connection() -> Any:
    return cast(Any, connection)


def current_schema() -> str:
    """The schema the connection is on."""
    return str(_tenant_connection().schema_name)


def on_public_schema() -> bool:
    """Whether the connection is on the public schema (vendor staff, the catalogue)."""
    return current_schema() == get_public_schema_name()


def current_tenant() -> Any:
    """The connection's tenant: an Organisation, or django-tenants' stand-in for public."""
    return getattr(connection, "tenant", None)


def use_public_schema() -> None:
    """Put the connection on the public schema."""
    _tenant_connection().set_schema_to_public()


def use_tenant(tenant: Any) -> None:
    """Put the connection on ``tenant``'s schema (for middleware; code with an
    organisation at hand uses ``tenant_context(organisation)``)."""
    _tenant_connection().set_tenant(tenant)
