"""``entitlements``, ``subscription`` and ``trial`` in every organisation page's template
context, each read only if a template uses it (and then once per request)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from subscriptions.selectors.entitlements import entitlements_for, subscription_of
from subscriptions.selectors.trials import current_trial


def entitlements(request: HttpRequest) -> dict[str, Any]:
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        return {}
    return {
        "entitlements": SimpleLazyObject(lambda: entitlements_for(organisation)),
        "subscription": SimpleLazyObject(lambda: subscription_of(organisation)),
        "trial": SimpleLazyObject(lambda: current_trial(organisation)),
    }
