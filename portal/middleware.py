"""Choose the schema and URL conf from the request's host name."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse, set_urlconf
from django.utils import translation
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware

from portal.clock import is_closed
from portal.hosts import organisation_for_host
from portal.http import PortalRequest
from portal.tenancy import current_tenant, use_public_schema, use_tenant
from portal.views import unknown_organisation


class OrganisationMiddleware(TenantMainMiddleware):
    """django-tenants' middleware, with the public site recognised without a query and an
    organisation's site from the host cache (``portal.hosts``: no query when warm).

    Sets ``request.organisation`` (None on the public site) and ``request.tenant``
    (django-tenants' own attribute; the public schema's stand-in on the public site).
    An unknown host gets the "no organisation here" page with status 404; a closed
    organisation's site is routed by ``CLOSED_SITE_URLCONF`` (the page that says so, and
    its data export), whatever the path.
    """

    def process_request(self, request: PortalRequest) -> HttpResponse | None:
        request.organisation = None
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return self._unknown(request)
        if hostname == settings.PORTAL_BASE_DOMAIN:
            use_public_schema()
            request.tenant = current_tenant()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None
        # Whatever schema the connection is on (the previous request's): the lookup, when
        # the cache misses, reads the public schema's Domain, which every path includes.
        organisation = organisation_for_host(hostname)
        if organisation is None:
            return self._unknown(request)
        organisation.domain_url = hostname
        request.tenant = request.organisation = organisation
        use_tenant(organisation)
        if is_closed(organisation):  # its site says so, and offers only its data
            request.urlconf = settings.CLOSED_SITE_URLCONF
        return None

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        """The host name as DNS compares it: lowercase, without the trailing dot of a fully
        qualified name (``ACME.localhost.`` is ``acme.localhost``) and without the port."""
        hostname: str = TenantMainMiddleware.hostname_from_request(request)
        return hostname.lower().removesuffix(".")

    @staticmethod
    def _unknown(request: PortalRequest) -> HttpResponse:
        """Answered before the locale middleware runs: in the browser's language itself."""
        use_public_schema()
        with translation.override(translation.get_language_from_request(request)):
            return unknown_organisation(request)


class StaffSignInMiddleware:
    """Vendor staff reach the admin only through allauth's sign-in (rate-limited; it asks
    for the TOTP code of those who have one): the admin's own form is never used. With
    PORTAL_STAFF_MFA on, staff who have not set up TOTP are sent to set it up first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: PortalRequest) -> HttpResponse:
        if request.organisation is None:
            redirect = self._redirect(request)
            if redirect is not None:
                return redirect
        return self.get_response(request)

    def _redirect(self, request: HttpRequest) -> HttpResponse | None:
        admin_root = reverse("admin:index", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
        if not request.path.startswith(admin_root):
            return None
        if request.path == reverse("admin:login", urlconf=settings.PUBLIC_SCHEMA_URLCONF):
            target = request.GET.get("next") or admin_root
            login = reverse("account_login", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
            return HttpResponseRedirect(f"{login}?{urlencode({'next': target})}")
        user = request.user
        if (
            settings.PORTAL_STAFF_MFA
            and user.is_authenticated
            and user.is_staff
            and not is_mfa_enabled(user, [Authenticator.Type.TOTP])
        ):
            activate = reverse("mfa_activate_totp", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
            return HttpResponseRedirect(f"{activate}?{urlencode({'next': request.path})}")
        return None


class RefuseNulMiddleware:
    """PostgreSQL text cannot hold a NUL character (U+0000) and no one types one: a request
    with one in its query or its form fields is answered 400 with a message before any view
    or query sees it. (A session cookie with one is no session: ``portal.sessions``.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._carries_nul(request):
            message = _(
                "The request contained a NUL character, which no field accepts. "
                "Remove it and try again."
            )
            body = render_to_string("400.html", {"message": message}, request=request)
            return HttpResponseBadRequest(body)
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request: HttpRequest) -> bool:
        forms = [request.GET]
        if request.method == "POST":
            forms.append(request.POST)  # form fields only: an uploaded file may hold NULs
        return any(
            "\x00" in key or any("\x00" in value for value in values)
            for form in forms
            for key, values in form.lists()
        )


class ContentSecurityPolicyMiddleware:
    """Every response, of every site (an organisation's, the public one, the admin, error
    pages), carries PORTAL_CSP (portal/settings.py): scripts, styles and the rest only from
    our own origin, nothing inline. First in MIDDLEWARE, so even the answers the others
    give early (an unknown host, a request refused with 400) carry it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.PORTAL_CSP)
        return response
