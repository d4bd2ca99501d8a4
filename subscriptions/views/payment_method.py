"""The card on file, in the Store: shown as brand, last four digits and expiry, and added or
replaced through the payment provider's card form (the number goes from the browser to the
provider, never to the portal; 3-D Secure happens there too)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.http import OrganisationRequest
from portal.idempotency import idempotent, new_key
from portal.refusals import answered
from subscriptions import stripe_gateway
from subscriptions.forms import CardForm
from subscriptions.selectors.payments import past_due_since, payment_account_of
from subscriptions.services import payment_methods
from subscriptions.views.provider import page_csp, script_url
from subscriptions.views.store import store_page


@require_http_methods(["GET", "POST"])
@store_page
@idempotent
def payment_method(request: OrganisationRequest) -> HttpResponse:
    """GET: the card on file and the card form; POST: the card the form made, kept."""
    if not stripe_gateway.in_use():
        raise Http404(_("Payments are recorded only here: there is no card to keep."))
    organisation = request.organisation
    form = CardForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            with answered(request, form=form) as refusal:
                account = payment_methods.attach_card(
                    organisation, form.cleaned_data["payment_method"], acting_user=request.user
                )
                messages.success(
                    request,
                    _("Your card ending in %(last4)s is on file.") % {"last4": account.last4},
                )
                if past_due_since(organisation) is not None:
                    messages.error(request, _("The unpaid renewal could not be paid with it."))
                return HttpResponseRedirect(reverse("store_payment_method"))
            status = refusal.status
    client_secret = ""
    with answered(request) as unavailable:  # the provider down: the page says so, no form
        client_secret = payment_methods.start_card_setup()
    if unavailable:
        status = unavailable.status
    context = {
        "account": payment_account_of(organisation),
        "form": form,
        "new_key": new_key,
        "client_secret": client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "script_url": script_url(),
        "test_mode": stripe_gateway.test_mode(),
    }
    response = render(request, "subscriptions/store/payment_method.html", context, status=status)
    response["Content-Security-Policy"] = page_csp()
    return response
