"""Reads about organisations and their sites, shared by views, commands and emails."""

from __future__ import annotations

from django.conf import settings

from portal.models import Organisation
from portal.tenancy import current_schema, current_tenant, on_public_schema


def organisation_host(slug: str) -> str:
    """The host name of an organisation's site, without port."""
    return f"{slug}.{settings.PORTAL_BASE_DOMAIN}"


def site_url(host: str, path: str = "/") -> str:
    """An absolute URL on ``host`` with the configured scheme and port."""
    port = f":{settings.PORTAL_PORT}" if settings.PORTAL_PORT else ""
    return f"{settings.PORTAL_SCHEME}://{host}{port}{path}"


def organisation_url(organisation: Organisation, path: str = "/") -> str:
    """An absolute URL on the organisation's own site."""
    return site_url(organisation_host(organisation.slug), path)


def public_url(path: str = "/") -> str:
    return site_url(settings.PORTAL_BASE_DOMAIN, path)


def find_organisation(slug: str) -> Organisation | None:
    """The organisation with this slug, or None (one query)."""
    return Organisation.objects.filter(slug=slug.strip().lower()).first()


def current_organisation() -> Organisation | None:
    """The organisation whose schema the connection is on; None on the public schema."""
    tenant = current_tenant()
    if isinstance(tenant, Organisation):
        return tenant
    if on_public_schema():
        return None
    return Organisation.objects.filter(schema_name=current_schema()).first()
