"""What the back office's admin pages share: the signed-in staff member."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from accounts.models import User


def staff_user(request: HttpRequest) -> User:
    """The signed-in staff member: every admin view is behind ``admin_site.admin_view``,
    which lets only active staff through."""
    return cast(User, request.user)
