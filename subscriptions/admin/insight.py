"""Plan changes in the admin, and the insight page drawn from them: changes per month,
feedback reasons and refunds, as SVG charts with their figures."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _

from subscriptions.admin.base import ReadOnlyAdmin
from subscriptions.charts import Series, bar_chart, hbar_chart
from subscriptions.models import PlanChange
from subscriptions.selectors import backoffice


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


def insight_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Charts of plan changes, feedback reasons and refunds, with their figures."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    data = backoffice.insight()
    refund_charts = [
        (
            currency,
            bar_chart(
                _("Refunds in %(currency)s") % {"currency": currency},
                data.months,
                [Series(_("Amount requested"), requested), Series(_("Amount refunded"), refunded)],
            ),
            list(zip(data.months, requested, refunded, strict=True)),
        )
        for currency, (requested, refunded) in sorted(data.refunds.items())
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Insight"),
        "opts": model_admin.model._meta,
        "changes_chart": bar_chart(
            _("Plan changes per month"),
            data.months,
            [Series(_("Upgrades"), data.upgrades), Series(_("Downgrades"), data.downgrades)],
        ),
        "changes_rows": list(zip(data.months, data.upgrades, data.downgrades, strict=True)),
        "reasons_chart": hbar_chart(_("Reasons given in feedback"), data.reasons),
        "reasons": data.reasons,
        "refund_charts": refund_charts,
    }
    return TemplateResponse(request, "admin/subscriptions/insight.html", context)
