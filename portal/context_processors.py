"""Template context every page shares: the organisation, the site links, the menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.selectors import can_manage_subscription, can_manage_users, initials
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
    }
