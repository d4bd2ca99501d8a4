"""Choose the schema and URL conf from the request's host name."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import set_urlconf
from django_tenants.middleware.main import TenantMainMiddleware

from portal.models import Domain
from portal.views import unknown_organisation


class OrganisationMiddleware(TenantMainMiddleware):
    """django-tenants' middleware, with the public site recognised without a query.

    Sets ``request.organisation`` (None on the public site) and ``request.tenant``
    (django-tenants' own attribute; the public schema's stand-in on the public site).
    An unknown host gets the "no organisation here" page with status 404.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        connection.set_schema_to_public()  # type: ignore[attr-defined]
        request.organisation = None  # type: ignore[attr-defined]
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return unknown_organisation(request)
        if hostname == settings.PORTAL_BASE_DOMAIN:
            request.tenant = connection.tenant  # type: ignore[attr-defined]
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF  # type: ignore[attr-defined]
            set_urlconf(request.urlconf)  # type: ignore[attr-defined]
            return None
        domain = (
            Domain.objects.select_related("tenant", "tenant__subscription__plan")
            .filter(domain=hostname)
            .first()
        )
        if domain is None:
            return unknown_organisation(request)
        organisation = domain.tenant
        organisation.domain_url = hostname
        request.tenant = request.organisation = organisation  # type: ignore[attr-defined]
        connection.set_tenant(organisation)  # type: ignore[attr-defined]
        return None
