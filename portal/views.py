"""The public site's landing page (a way to reach your organisation's site), the page of a
host name no organisation answers at, and the favicon every site is asked for."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal import clock
from portal.emails import vendor_name
from portal.http import PortalRequest
from portal.idempotency import new_key
from portal.selectors import find_organisation, organisation_url


class OrganisationAddressForm(forms.Form):
    address = forms.CharField(label=_("Your organisation's address"), max_length=253)

    def clean_address(self) -> str:
        """Accept "acme", "acme.example.com" or a pasted URL; return the slug."""
        value = self.cleaned_data["address"].strip().lower()
        value = value.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        suffix = f".{settings.PORTAL_BASE_DOMAIN}"
        if value.endswith(suffix):
            value = value[: -len(suffix)]
        self.organisation = find_organisation(value) if value else None
        if self.organisation is None:
            raise forms.ValidationError(
                _(
                    "We could not find an organisation at that address. Check the spelling "
                    "or ask your administrator for your site's address."
                ),
                code="unknown_organisation",
            )
        return value


def landing(request: HttpRequest) -> HttpResponse:
    """The public site: what the portal is, and a way to reach your organisation's site."""
    form = OrganisationAddressForm(request.GET or None)
    form.fields["address"].help_text = _("For example “acme” or “acme.%(domain)s”.") % {
        "domain": settings.PORTAL_BASE_DOMAIN
    }
    if form.is_valid():
        assert form.organisation is not None  # clean_address found it
        login_path = reverse("account_login", urlconf=settings.ROOT_URLCONF)
        return HttpResponseRedirect(organisation_url(form.organisation, login_path))
    status = 400 if form.is_bound else 200
    return render(request, "portal/landing.html", {"form": form}, status=status)


def unknown_organisation(request: HttpRequest) -> HttpResponse:
    """No organisation answers at this host name."""
    return render(request, "portal/unknown_organisation.html", status=404)


def closed_organisation(request: PortalRequest) -> HttpResponse:
    """The organisation was closed: its site says so, to everyone (nobody signs in), and
    offers its data to its primary contact for a while (``closed_export_until``)."""
    organisation = request.organisation
    assert organisation is not None  # a closed organisation's site
    until = clock.closed_export_until(organisation)
    offered = until is not None and clock.today(organisation) < until
    context = {
        "organisation": organisation,
        "vendor": vendor_name(),
        "export_until": until if offered else None,
        "sent": request.GET.get("export") == "sent",
        "new_key": new_key,
    }
    return render(request, "portal/closed_organisation.html", context, status=410)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every site, the admin's pages included."""
    return HttpResponseRedirect(static("portal/favicon.svg"))
