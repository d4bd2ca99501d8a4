"""The Django admin for vendor staff: the catalogue, subscriptions, and (from
subscriptions.backoffice) the refund review queue and the audit log.

Catalogue edits go through ``record_catalogue_change`` so that each one is audited and
every organisation's entitlements are recomputed. Audit events are read-only here, as
they are in the database.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path
from django.utils.translation import gettext as _

from portal.exceptions import DomainError
from portal.models import Organisation
from subscriptions import selectors, services
from subscriptions.backoffice import (
    AuditEventAdmin,
    OrganisationAdmin,
    ReadOnlyAdmin,
    RefundRequestAdmin,
    insight_view,
)
from subscriptions.models import (
    AuditEvent,
    EntitlementOverride,
    Feature,
    Plan,
    PlanChange,
    PlanFeature,
    PlanPrice,
    PlanTransition,
    RefundRequest,
    Subscription,
)


class CatalogueAdmin(admin.ModelAdmin):
    """Saves and deletes of catalogue entries are audited and refresh entitlements."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.record_catalogue_change(
            obj,
            acting_user=request.user,
            action="changed" if change else "added",
            before={field: form.initial.get(field) for field in form.changed_data},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.record_catalogue_change(obj, acting_user=request.user, action="deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for entry in queryset:
            self.delete_model(request, entry)


class RuleCheckedForm(forms.ModelForm):
    """Turns the catalogue rules of subscriptions.services into form errors."""

    def check_rules(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                self.check_rules(data)
            except DomainError as error:
                raise forms.ValidationError(str(error)) from None
        return data


class PlanForm(RuleCheckedForm):
    def check_rules(self, data: dict[str, Any]) -> None:
        services.check_plan_code_change(self.instance, data.get("code", ""))


class PlanTransitionForm(RuleCheckedForm):
    def check_rules(self, data: dict[str, Any]) -> None:
        services.check_transition(
            self.instance if self.instance.pk else None,
            from_plan=data["from_plan"],
            to_plan=data["to_plan"],
            kind=data["kind"],
        )


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    extra = 0


class PlanFeatureInline(admin.TabularInline):
    model = PlanFeature
    extra = 0


@admin.register(Plan)
class PlanAdmin(CatalogueAdmin):
    form = PlanForm
    list_display = ["code", "name_en", "name_ja", "rank", "seat_cap"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not services.may_delete_plan(obj):
            return False  # a plan of the seed's downgrades
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        kept = [plan.pk for plan in queryset if not services.may_delete_plan(plan)]
        super().delete_queryset(request, queryset.exclude(pk__in=kept))

    inlines = [PlanPriceInline, PlanFeatureInline]


@admin.register(Feature)
class FeatureAdmin(CatalogueAdmin):
    list_display = ["code", "name_en", "name_ja", "kind", "position"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not services.may_delete_feature(obj):
            return False  # a limit the portal counts objects against
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        kept = [feature.pk for feature in queryset if not services.may_delete_feature(feature)]
        super().delete_queryset(request, queryset.exclude(pk__in=kept))


@admin.register(PlanTransition)
class PlanTransitionAdmin(CatalogueAdmin):
    """The transition table, shown as a from x to matrix above the list."""

    form = PlanTransitionForm
    list_display = ["from_plan", "to_plan", "kind"]
    list_filter = ["kind"]
    list_select_related = ["from_plan", "to_plan"]
    change_list_template = "admin/subscriptions/plantransition/change_list.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        context = {**(extra_context or {}), "matrix": selectors.transition_matrix()}
        return super().changelist_view(request, context)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and services.is_required_transition(obj):
            return False  # one of the seed's downgrades
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for transition in queryset.select_related("from_plan", "to_plan"):
            if services.is_required_transition(transition):
                self.message_user(
                    request,
                    _("%(transition)s was kept: the product must offer this downgrade.")
                    % {"transition": transition},
                    messages.WARNING,
                )
            else:
                self.delete_model(request, transition)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "plan", "cycle", "seats", "currency", "period_end"]
    list_filter = ["plan", "cycle", "currency"]
    list_select_related = ["organisation", "plan"]


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "organisation",
        "from_plan",
        "to_plan",
        "kind",
        "refund_quote",
        "amount_due",
        "created_at",
    ]
    list_filter = ["kind"]
    list_select_related = ["organisation", "from_plan", "to_plan"]
    change_list_template = "admin/subscriptions/planchange/change_list.html"

    def get_urls(self) -> list[Any]:
        insight = self.admin_site.admin_view(partial(insight_view, self))
        return [path("insight/", insight, name="subscriptions_insight"), *super().get_urls()]


@admin.register(EntitlementOverride)
class EntitlementOverrideAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "feature", "limit", "valid_until", "revoked_at"]
    list_select_related = ["organisation", "feature"]


admin.site.register(Organisation, OrganisationAdmin)
admin.site.register(RefundRequest, RefundRequestAdmin)
admin.site.register(AuditEvent, AuditEventAdmin)
