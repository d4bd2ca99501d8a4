"""What the back office's admin pages share."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import User


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: changes go through subscriptions.services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def staff_user(request: HttpRequest) -> User:
    """The signed-in staff member: every admin view is behind ``admin_site.admin_view``,
    which lets only active staff through."""
    return cast(User, request.user)
