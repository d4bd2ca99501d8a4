"""The request as this project's middleware and decorators leave it, for type checkers:
views say which one they get instead of ignoring unknown attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from accounts.models import User
    from portal.models import Organisation


class PortalRequest(HttpRequest):
    """Any request after ``portal.middleware.OrganisationMiddleware``: the organisation
    whose site it is for (None on the public site) and django-tenants' ``tenant``."""

    organisation: Organisation | None
    tenant: Any
    urlconf: str
    # Set by ``portal.idempotency.idempotent`` on the POSTs it lets through.
    idempotency_key: str


class OrganisationRequest(PortalRequest):
    """A request to an organisation's own pages (``accounts.views.organisation_page``):
    on its site, from one of its signed-in users."""

    organisation: Organisation
    user: User
