"""The signed-in user's part of every page: their initials and the menu they may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.selectors import can_manage_subscription, can_manage_users, initials


def menu(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    on_organisation = getattr(request, "organisation", None) is not None
    return {
        "user_initials": initials(user) if signed_in else "",
        "can_manage_users": signed_in and on_organisation and can_manage_users(user),
        "can_manage_subscription": (
            signed_in and on_organisation and can_manage_subscription(user)
        ),
    }
