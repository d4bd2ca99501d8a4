"""The plan catalogue in the admin: plans with their prices and values, features, and
the transition table (shown as a matrix). Every save and delete is checked against the
catalogue's rules and audited through ``services.catalogue``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from audit.services import Action
from portal.names import VisibleNamesAdmin
from portal.refusals import answered
from subscriptions.admin.base import staff_user
from subscriptions.models import Feature, Plan, PlanFeature, PlanPrice, PlanTransition
from subscriptions.selectors import catalogue as catalogue_selectors
from subscriptions.services import catalogue


class CatalogueAdmin(VisibleNamesAdmin):
    """Saves and deletes of catalogue entries are audited and refresh entitlements."""

    name_fields = ("name_en", "name_ja")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        catalogue.record_catalogue_change(
            obj,
            acting_user=staff_user(request),
            action=Action.CATALOGUE_CHANGED if change else Action.CATALOGUE_ADDED,
            before={field: form.initial.get(field) for field in form.changed_data},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        catalogue.record_catalogue_change(
            obj, acting_user=staff_user(request), action=Action.CATALOGUE_DELETED
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for entry in queryset:
            self.delete_model(request, entry)


class RuleCheckedForm(forms.ModelForm):
    """Turns the catalogue rules of subscriptions.services.catalogue into form errors."""

    def check_rules(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            with answered(None, form=self):
                self.check_rules(data)
        return data


class PlanForm(RuleCheckedForm):
    def check_rules(self, data: dict[str, Any]) -> None:
        catalogue.check_plan_code_change(self.instance, data.get("code", ""))


class PlanTransitionForm(RuleCheckedForm):
    def check_rules(self, data: dict[str, Any]) -> None:
        catalogue.check_transition(
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
        if obj is not None and not catalogue.may_delete_plan(obj):
            return False  # a plan of the seed's downgrades
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        kept = [plan.pk for plan in queryset if not catalogue.may_delete_plan(plan)]
        super().delete_queryset(request, queryset.exclude(pk__in=kept))

    inlines = [PlanPriceInline, PlanFeatureInline]


@admin.register(Feature)
class FeatureAdmin(CatalogueAdmin):
    list_display = ["code", "name_en", "name_ja", "kind", "position"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not catalogue.may_delete_feature(obj):
            return False  # a limit the portal counts objects against
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        kept = [feature.pk for feature in queryset if not catalogue.may_delete_feature(feature)]
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
        context = {**(extra_context or {}), "matrix": catalogue_selectors.transition_matrix()}
        return super().changelist_view(request, context)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and catalogue.is_required_transition(obj):
            return False  # one of the seed's downgrades
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for transition in queryset.select_related("from_plan", "to_plan"):
            if catalogue.is_required_transition(transition):
                self.message_user(
                    request,
                    _("%(transition)s was kept: the product must offer this downgrade.")
                    % {"transition": transition},
                    messages.WARNING,
                )
            else:
                self.delete_model(request, transition)
