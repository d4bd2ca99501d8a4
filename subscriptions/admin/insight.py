"""Plan changes in the admin, and the insight page drawn from them: changes per month,
feedback reasons and refunds, as SVG charts with their figures."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin import ReadOnlyAdmin
from portal.models import Organisation
from portal.selectors import find_organisation
from subscriptions.charts import Series, bar_chart, hbar_chart
from subscriptions.models import PlanChange
from subscriptions.selectors import backoffice
from subscriptions.templatetags.subscriptions import money


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "organisation",
        "from_plan",
        "to_plan",
        "kind",
        "refund_quote_shown",
        "amount_due_shown",
        "created_at",
    ]
    list_filter = ["kind"]
    list_select_related = ["organisation", "from_plan", "to_plan"]
    change_list_template = "admin/subscriptions/planchange/change_list.html"

    @admin.display(description=gettext_lazy("refund quote"), ordering="refund_quote")
    def refund_quote_shown(self, change: PlanChange) -> str:
        return money(change.refund_quote, change.currency)

    @admin.display(description=gettext_lazy("amount due"), ordering="amount_due")
    def amount_due_shown(self, change: PlanChange) -> str:
        return money(change.amount_due, change.currency)

    def get_urls(self) -> list[Any]:
        insight = self.admin_site.admin_view(partial(insight_view, self))
        return [path("insight/", insight, name="subscriptions_insight"), *super().get_urls()]


class MonthField(forms.DateField):
    """A month, as ``<input type="month">`` sends it (2026-11): its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m"]


class InsightFilterForm(forms.Form):
    first_month = MonthField(label=gettext_lazy("From"), required=False)
    last_month = MonthField(label=gettext_lazy("To"), required=False)
    organisation = forms.CharField(
        label=gettext_lazy("Organisation (address)"), required=False, max_length=40
    )

    def clean_organisation(self) -> Organisation | None:
        slug = self.cleaned_data["organisation"].strip().lower()
        if not slug:
            return None
        found = find_organisation(slug)
        if found is None:
            raise forms.ValidationError(
                gettext_lazy("No organisation has the address “%(slug)s”."),
                params={"slug": slug},
            )
        return found

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        first, last = backoffice.insight_range(cleaned["first_month"], cleaned["last_month"])
        span = backoffice.month_index(last) - backoffice.month_index(first) + 1
        if span < 1:
            raise forms.ValidationError(gettext_lazy("The first month comes after the last."))
        if span > backoffice.INSIGHT_MAX_MONTHS:
            raise forms.ValidationError(
                gettext_lazy("Choose at most %(months)s months."),
                params={"months": backoffice.INSIGHT_MAX_MONTHS},
            )
        return {**cleaned, "first_month": first, "last_month": last}


def insight_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Charts of plan changes, feedback reasons and refunds, with their figures, for a
    range of months and one organisation or all (the last twelve months of all by
    default; a filter that does not hold is shown with its reason, and the default)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = InsightFilterForm(request.GET or None)
    choice = form.cleaned_data if form.is_valid() else {}
    data = backoffice.insight(
        first_month=choice.get("first_month"),
        last_month=choice.get("last_month"),
        organisation=choice.get("organisation"),
    )
    # Each month as the staff member's language writes one (2026年11月, November 2026).
    months = [
        date_format(date.fromisoformat(f"{month}-01"), "YEAR_MONTH_FORMAT") for month in data.months
    ]
    refund_charts = [
        (
            currency,
            bar_chart(
                _("Refunds in %(currency)s") % {"currency": currency},
                months,
                [
                    Series(_("Refund quotes requested"), requested),
                    Series(_("Amount refunded"), refunded),
                ],
            ),
            list(zip(months, requested, refunded, strict=True)),
        )
        for currency, (requested, refunded) in sorted(data.refunds.items())
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Insight"),
        "opts": model_admin.model._meta,
        "changes_chart": bar_chart(
            _("Plan changes per month"),
            months,
            [Series(_("Upgrades"), data.upgrades), Series(_("Downgrades"), data.downgrades)],
        ),
        "changes_rows": list(zip(months, data.upgrades, data.downgrades, strict=True)),
        "reasons_chart": hbar_chart(_("Reasons given in feedback"), data.reasons),
        "reasons": data.reasons,
        "refund_charts": refund_charts,
        "form": form,
        "range": (months[0], months[-1]),
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return TemplateResponse(request, "admin/subscriptions/insight.html", context, status=status)
