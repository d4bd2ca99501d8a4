"""The tenant registry in the vendor's admin (public site only)."""

from __future__ import annotations

from django.contrib import admin
from django_tenants.admin import TenantAdminMixin

from portal.models import Domain, Organisation


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    readonly_fields = ["domain", "is_primary"]
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Organisation)
class OrganisationAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "schema_name", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["slug", "schema_name", "created_at", "updated_at"]
    inlines = [DomainInline]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # organisations are created with `manage.py create_organisation`

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # an organisation's data is never deleted from here
