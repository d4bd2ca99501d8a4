"""Closing the organisation from the Store: its primary contact chooses when (the end of
the paid period, or now with the refund of the unused part) and types its address again.
Thin views over ``services.closures`` and ``services.closing``."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal import clock
from portal.http import OrganisationRequest
from portal.idempotency import idempotent, new_key
from portal.refusals import answered
from subscriptions.forms import CloseOrganisationForm
from subscriptions.selectors import entitlements, previews
from subscriptions.services import closing, closures
from subscriptions.views.store import store_page


@require_http_methods(["GET", "POST"])
@store_page
@idempotent
def close(request: OrganisationRequest) -> HttpResponse:
    """What closing does, then or now; a refused request gets the form back (400), nothing
    changed."""
    organisation = request.organisation
    subscription = entitlements.subscription_of(organisation)
    form = CloseOrganisationForm(request.POST or None, slug=organisation.slug)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            with answered(request, form=form) as refusal:
                if form.cleaned_data["when"] == CloseOrganisationForm.NOW:
                    closing.close_now(organisation, acting_user=request.user)
                    return HttpResponseRedirect("/")  # the site now says it is closed
                closes_on = closures.schedule_closure(organisation, acting_user=request.user)
                messages.success(
                    request,
                    _("The organisation closes on %(date)s. You can cancel that until then.")
                    % {"date": date_format(closes_on, "DATE_FORMAT")},
                )
                return HttpResponseRedirect(reverse("store_home"))
            status = refusal.status
    # Closing now first moves a paid plan to Free: its quote is the refund it gives.
    to_free = (
        None if subscription.plan.is_free else previews.preview_plan_change(organisation, "free")
    )
    today = clock.today(organisation)
    context = {
        "form": form,
        "subscription": subscription,
        "closes_on": max(subscription.period_end, today - timedelta(days=1)) + timedelta(days=1),
        "refund": to_free.refund_now if to_free is not None and to_free.quote.refund else None,
        "may_close": request.user.is_primary_contact,
        "new_key": new_key,
        "export_days": settings.PORTAL_CLOSED_EXPORT_DAYS,
    }
    return render(request, "subscriptions/store/close.html", context, status=status)


@require_POST
@store_page
@idempotent
def cancel_closure(request: OrganisationRequest) -> HttpResponse:
    """The scheduled closure will not happen."""
    with answered(request):
        closures.cancel_closure(request.organisation, acting_user=request.user)
        messages.success(request, _("The closure was cancelled. Your plan renews as before."))
    return HttpResponseRedirect(reverse("store_home"))
