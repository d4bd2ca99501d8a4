"""What the admin's pages share: the product's name in their header (not Django's), and a
model shown, never edited, in the admin (changes go through the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# The back office names the product, in the staff member's language.
admin.site.site_header = _("Helpdesk portal back office")
admin.site.site_title = _("Helpdesk portal back office")
admin.site.index_title = _("Back office")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: changes go through the apps' services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
