"""The organisation's data export on its own site (``organisations.exports``): asked for by
its primary contact from the Store, or, once closed, from the page that says so (the link
then goes to the primary contact's address); downloaded with the emailed link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from organisations import exports
from portal import clock
from portal.http import PortalRequest
from portal.idempotency import idempotent
from portal.refusals import answered


@require_POST
@idempotent
def request_export(request: PortalRequest) -> HttpResponse:
    """Queue an export: by the signed-in primary contact (back to the Store), or on a
    closed site while it offers one (to the primary contact's address, whoever asks)."""
    organisation = request.organisation
    if organisation is None:
        raise Http404
    if clock.is_closed(organisation):
        if not exports.offered_when_closed(organisation):
            raise Http404
        exports.request_export(organisation, acting_user=None)
        return HttpResponseRedirect("/?export=sent")
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("store_home"))
    with answered(request):
        exports.request_export(organisation, acting_user=request.user)
        messages.success(
            request,
            _(
                "The organisation's data is being prepared: a link to download it is emailed "
                "to you."
            ),
        )
    return HttpResponseRedirect(reverse("store_home"))


@require_GET
def download(request: PortalRequest, token: str) -> HttpResponse:
    """The archive, with the emailed link's key, on the organisation's own site only, until
    the link expires (else 404: another organisation's key finds nothing here)."""
    organisation = request.organisation
    export = exports.downloadable(organisation, token) if organisation is not None else None
    if export is None or export.archive is None:
        raise Http404
    response = HttpResponse(bytes(export.archive), content_type="application/zip")
    name = f"{export.organisation.slug}-data-{export.created_at:%Y%m%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
