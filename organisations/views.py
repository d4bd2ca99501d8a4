"""Self-service sign-up on the public site (``organisations.signups``), and the one-time
welcome that signs the new primary contact in on their organisation's site."""

from __future__ import annotations

from uuid import UUID

from allauth.account.adapter import get_adapter
from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from organisations import signups
from organisations.exceptions import (
    SignUpAddressGone,
    SignUpLinkInvalid,
    SignUpWelcomeSpent,
)
from organisations.forms import AddressForm, SignUpForm, terms_to_accept
from portal.exceptions import InvalidOrganisation
from portal.http import PortalRequest
from portal.idempotency import idempotent, new_key
from portal.models import SignUp
from portal.refusals import answered
from portal.selectors import organisation_url
from subscriptions.selectors.catalogue import starter_plan
from subscriptions.selectors.trials import trial_terms

# The sign-ups this browser verified (a POST with the emailed key): only it is shown their
# progress and signed in.
SESSION_SIGN_UPS = "portal_sign_ups"
TOO_MANY_CHECKS = _("Too many checks in a short time. Wait a minute and try again.")


def _address_status(form: AddressForm) -> dict[str, object]:
    """The availability check's answer, for the page and the JSON alike."""
    address = form.data.get("address", "")
    available = form.is_valid()
    return {
        "address": address.strip().lower(),
        "available": available,
        "message": (
            str(_("“%(slug)s” is available.") % {"slug": form.cleaned_data["address"]})
            if available
            else " ".join(str(error) for error in form.errors.get("address", []))
        ),
    }


@require_http_methods(["GET", "POST"])
@idempotent
def sign_up(request: HttpRequest) -> HttpResponse:
    """Start free: the organisation's name and address, the person's name, email and
    password. "Check availability" answers for the address alone (without JavaScript);
    with it, the page asks ``sign_up_address`` as the address is typed."""
    context: dict[str, object] = {
        "new_key": new_key,
        "domain": settings.PORTAL_BASE_DOMAIN,
        "starter": starter_plan(),
        "trial": trial_terms(),
        "terms_url": settings.PORTAL_TERMS_URL,
        "privacy_url": settings.PORTAL_PRIVACY_URL,
    }
    if request.method == "POST" and "check" in request.POST:  # the address only, for now
        if not ratelimit.consume(request, action="check_address"):
            return render(request, "429.html", status=429)
        given = {name: request.POST.get(name, "") for name in SignUpForm.base_fields}
        form = SignUpForm(initial={**given, "password": ""})
        context.update(form=form, availability=_address_status(AddressForm(request.POST)))
        return render(request, "organisations/signup.html", context)
    form = SignUpForm(request.POST or None)
    if form.is_valid():
        email = form.cleaned_data["email"].lower()
        if not ratelimit.consume(request, action="start_organisation", key=email):
            return render(request, "429.html", status=429)
        with answered(request, form=form, fields={InvalidOrganisation: "address"}):
            started = signups.start_sign_up(
                organisation_name=form.cleaned_data["organisation_name"],
                slug=form.cleaned_data["address"],
                full_name=form.cleaned_data["full_name"],
                email=email,
                password=form.cleaned_data["password"],
                ip_address=get_adapter(request).get_client_ip(request),
                terms_accepted=terms_to_accept() if form.cleaned_data.get("terms") else "",
            )
            request.session["portal_sign_up_sent_to"] = started.email
            return redirect("sign_up_sent")
    context["form"] = form
    return render(
        request, "organisations/signup.html", context, status=400 if form.is_bound else 200
    )


@require_GET
def sign_up_address(request: HttpRequest) -> JsonResponse:
    """Whether an address can be had: {"address", "available", "message"}; limited per
    client (``ACCOUNT_RATE_LIMITS["check_address"]``), 429 beyond."""
    if ratelimit.consume_or_429(request, action="check_address", limit_get=True) is not None:
        return JsonResponse(
            {"address": "", "available": False, "message": str(TOO_MANY_CHECKS)}, status=429
        )
    return JsonResponse(_address_status(AddressForm(request.GET)))


@require_GET
def sign_up_sent(request: HttpRequest) -> HttpResponse:
    email = request.session.get("portal_sign_up_sent_to", "")
    context = {"email": email, "hours": signups.VERIFY_HOURS}
    return render(request, "organisations/signup_sent.html", context)


@require_http_methods(["GET", "POST"])
@idempotent
def sign_up_verify(request: HttpRequest, key: str) -> HttpResponse:
    """The emailed link: a page with one button. Only the button (a POST with the key)
    verifies and ties this browser to the sign-up: a GET, a mail scanner's included,
    changes nothing. Once the site exists, the link sends the person to its sign-in."""
    try:
        found = signups.sign_up_of_link(key)
        if found.state == SignUp.State.DONE:
            return _site_ready(request, found)
        if request.method == "POST":
            found = signups.verify_sign_up(key)
    except (SignUpLinkInvalid, SignUpAddressGone) as error:
        return render(
            request, "organisations/signup_link.html", {"error": error}, status=error.status
        )
    if request.method == "POST":
        owned = request.session.get(SESSION_SIGN_UPS, [])
        request.session[SESSION_SIGN_UPS] = [*owned[-9:], str(found.reference)]
        return redirect("sign_up_progress", reference=found.reference)
    if str(found.reference) in request.session.get(SESSION_SIGN_UPS, []):
        return redirect("sign_up_progress", reference=found.reference)
    context = {"sign_up": found, "domain": settings.PORTAL_BASE_DOMAIN, "new_key": new_key}
    return render(request, "organisations/signup_verify.html", context)


def _site_ready(request: HttpRequest, found: SignUp) -> HttpResponse:
    """The site exists: where to sign in (no key, no session)."""
    if found.organisation is None:  # deleted since by staff
        error = SignUpLinkInvalid()
        return render(
            request, "organisations/signup_link.html", {"error": error}, status=error.status
        )
    sign_in = reverse("account_login", urlconf=settings.ROOT_URLCONF)
    context = {
        "sign_up": found,
        "site_url": organisation_url(found.organisation, "/"),
        "sign_in_url": organisation_url(found.organisation, sign_in),
    }
    return render(request, "organisations/signup_done.html", context)


def _owned_sign_up(request: HttpRequest, reference: UUID) -> SignUp:
    if str(reference) not in request.session.get(SESSION_SIGN_UPS, []):
        raise Http404
    found = SignUp.objects.filter(reference=reference).first()
    if found is None:
        raise Http404
    return found


@require_GET
def sign_up_progress(request: HttpRequest, reference: UUID) -> HttpResponse:
    """Refreshes itself until the site exists, then signs the person in there (once, right
    after; later it says where to sign in)."""
    found = _owned_sign_up(request, reference)
    if found.state == SignUp.State.DONE and found.organisation is not None:
        try:
            key = signups.welcome_key(found)
        except SignUpWelcomeSpent:
            return _site_ready(request, found)
        return HttpResponseRedirect(
            organisation_url(
                found.organisation, reverse("welcome", args=[key], urlconf=settings.ROOT_URLCONF)
            )
        )
    context = {
        "sign_up": found,
        "label": _progress_label(found),
        "domain": settings.PORTAL_BASE_DOMAIN,
        "new_key": new_key,
    }
    return render(request, "organisations/signup_progress.html", context)


def _progress_label(found: SignUp) -> str:
    """The line the progress page shows, and its script updates."""
    return f"{capfirst(found.get_state_display())}…"


@require_GET
def sign_up_status(request: HttpRequest, reference: UUID) -> JsonResponse:
    """How far the site is, for the progress page's script: {"state", "label"}."""
    found = _owned_sign_up(request, reference)
    return JsonResponse({"state": found.state, "label": _progress_label(found)})


@require_POST
@idempotent
def sign_up_retry(request: HttpRequest, reference: UUID) -> HttpResponse:
    found = _owned_sign_up(request, reference)
    with answered(request):
        signups.retry(found, acting_user=None)
    return redirect("sign_up_progress", reference=reference)


@require_GET
def welcome(request: PortalRequest, key: str) -> HttpResponse:
    """On the new site: the one-time link from the progress page signs its primary
    contact in."""
    assert request.organisation is not None  # an organisation site's URL
    try:
        user = signups.redeem_welcome_key(request.organisation, key)
    except SignUpLinkInvalid as error:
        return render(
            request, "organisations/signup_link.html", {"error": error}, status=error.status
        )
    login(request, user, backend="accounts.backends.AuthenticationBackend")
    messages.success(request, _("Welcome! Your helpdesk site is ready."))
    return redirect("dashboard")
