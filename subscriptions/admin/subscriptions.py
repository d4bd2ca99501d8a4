"""Subscriptions, overrides and scheduled changes: read-only lists (each organisation's page,
``organisations.admin``, is where they are changed)."""

from __future__ import annotations

from django.contrib import admin

from portal.admin import ReadOnlyAdmin
from subscriptions.models import EntitlementOverride, ScheduledChange, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "plan", "cycle", "seats", "currency", "period_end"]
    list_filter = ["plan", "cycle", "currency"]
    list_select_related = ["organisation", "plan"]


@admin.register(EntitlementOverride)
class EntitlementOverrideAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "feature", "limit", "valid_until", "revoked_at"]
    list_select_related = ["organisation", "feature"]


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(ReadOnlyAdmin):
    """Changes waiting for the end of the period, and what became of them (cancel one from
    its organisation's page)."""

    list_display = [
        "organisation",
        "from_plan",
        "to_plan",
        "to_cycle",
        "seats_after",
        "effective",
        "status",
        "actor_email",
    ]
    list_filter = ["status", "to_plan"]
    list_select_related = ["organisation", "from_plan", "to_plan"]
    date_hierarchy = "effective"
