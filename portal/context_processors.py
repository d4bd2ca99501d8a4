"""Template context every page shares: the organisation, the site links, the menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.selectors import can_manage_subscription, can_manage_users, initials
from portal import clock
from portal.selectors import public_url


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    organisation = getattr(request, "organisation", None)
    return {
        "organisation": organisation,
        "public_site_url": public_url(),
        "user_initials": initials(user) if signed_in else "",
        "can_manage_users": signed_in and organisation is not None and can_manage_users(user),
        "can_manage_subscription": (
            signed_in and organisation is not None and can_manage_subscription(user)
        ),
        # Every page of an organisation on a test clock says so (portal/clock.py).
        "test_clock_today": clock.today(organisation)
        if clock.on_test_clock(organisation)
        else None,
    }
