"""Organisation-site pages about the plan: the Features page, and the gate that answers
403 with "available on plan X" for a feature the plan lacks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render

from accounts.views import organisation_page
from portal.http import OrganisationRequest
from subscriptions.selectors import catalogue
from subscriptions.selectors.entitlements import entitlements_for

View = Callable[..., HttpResponse]


def requires_feature(feature_code: str) -> Callable[[View], View]:
    """Only for organisations whose entitlements include the feature; others get a
    403 page naming the plan that unlocks it."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: OrganisationRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            entitlements = entitlements_for(request.organisation)
            if not entitlements.has(feature_code):
                context = {
                    "feature": catalogue.get_feature(feature_code),
                    "unlocked_by": catalogue.lowest_plan_with(feature_code),
                }
                return render(request, "subscriptions/feature_locked.html", context, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


@organisation_page()
def features(request: OrganisationRequest) -> HttpResponse:
    entitlements = entitlements_for(request.organisation)
    rows = catalogue.feature_rows(entitlements)
    return render(request, "subscriptions/features.html", {"rows": rows})


@organisation_page()
@requires_feature("live_chat")
def live_chat(request: OrganisationRequest) -> HttpResponse:
    """The live chat console (the helpdesk feature itself lives outside this portal;
    this page shows how a feature is gated)."""
    return render(request, "subscriptions/live_chat.html")
