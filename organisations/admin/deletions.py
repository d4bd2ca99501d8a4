"""Deletions in the admin: which organisation, the address it had (free again on which day),
how far its deletion got, why and at whose request. Shown, never edited: a deletion is made
and resumed by ``organisations.deletion``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from organisations.models import Deletion


@admin.register(Deletion)
class DeletionAdmin(admin.ModelAdmin):
    list_display = [
        "former_slug",
        "organisation",
        "step",
        "early",
        "requested_by",
        "started_at",
        "finished_at",
        "address_free_on",
    ]
    list_filter = ["step", "early"]
    search_fields = ["former_slug", "organisation__name"]
    list_select_related = ["organisation"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
