"""Subscriptions, overrides and scheduled changes: read-only lists (each organisation's page,
``organisations.admin``, is where they are changed), and the past-due organisations with
what staff may do about them (retry now, extend, waive: ``services.dunning``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from portal.admin import ReadOnlyAdmin
from portal.refusals import answered
from subscriptions.admin.base import staff_user
from subscriptions.models import (
    EntitlementOverride,
    PaymentStatus,
    ScheduledChange,
    Subscription,
)
from subscriptions.services import dunning
from subscriptions.services.collection import unpaid_invoices


class PastDueFilter(admin.SimpleListFilter):
    title = gettext_lazy("payment")
    parameter_name = "past_due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Past due")), ("no", _("Paid up"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> Any:
        if self.value() in ("yes", "no"):
            return queryset.filter(past_due_since__isnull=self.value() == "no")
        return queryset


class DunningForm(forms.Form):
    DECISIONS = [
        ("retry", gettext_lazy("Retry the payment now")),
        ("extend", gettext_lazy("Extend: more days before each attempt and the fall to Free")),
        ("waive", gettext_lazy("Waive: void the unpaid invoice, keep the plan")),
    ]
    decision = forms.ChoiceField(label=gettext_lazy("Decision"), choices=DECISIONS)
    days = forms.IntegerField(
        label=gettext_lazy("Days (extend)"), min_value=1, max_value=dunning.MAX_EXTENSION, initial=7
    )
    note = forms.CharField(
        label=gettext_lazy("Note (extend, waive)"), required=False, widget=forms.Textarea
    )


def _decide(subscription: Subscription, form: DunningForm, *, acting_user: User) -> str:
    """The staff's decision made (``services.dunning``), said."""
    organisation = subscription.organisation
    decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
    if decision == "retry":
        made = dunning.retry_now(organisation, acting_user=acting_user)
        paid = all(payment.status == PaymentStatus.PAID for payment in made)
        return _("The payment was taken.") if paid else _("The payment was refused again.")
    if decision == "extend":
        days = form.cleaned_data["days"]
        dunning.extend(organisation, days=days, note=note, acting_user=acting_user)
        return _("%(days)s more days were given.") % {"days": days}
    dunning.waive(organisation, note=note, acting_user=acting_user)
    return _("The unpaid renewal was waived.")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "plan", "cycle", "seats", "currency", "period_end", "payment"]
    list_filter = [PastDueFilter, "plan", "cycle", "currency"]
    list_select_related = ["organisation", "plan"]

    @admin.display(description=gettext_lazy("payment"), ordering="past_due_since")
    def payment(self, subscription: Subscription) -> str:
        if subscription.past_due_since is None:
            return _("Paid up")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:subscriptions_subscription_dunning", args=[subscription.pk]),
            _("Past due since %(date)s")
            % {"date": date_format(subscription.past_due_since, "DATE_FORMAT")},
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.dunning_view)
        return [
            path("<int:pk>/dunning/", view, name="subscriptions_subscription_dunning"),
            *super().get_urls(),
        ]

    def dunning_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """A past-due organisation: its unpaid invoices and the payments asked, and the
        staff's decision (a refused one: 400 with the form, nothing changed)."""
        if not self.has_view_permission(request):
            raise Http404
        subscription = Subscription.objects.select_related("organisation").filter(pk=pk).first()
        if subscription is None:
            raise Http404
        organisation = subscription.organisation
        form = DunningForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                with answered(request, form=form) as refusal:
                    said = _decide(subscription, form, acting_user=staff_user(request))
                    self.message_user(request, said, messages.SUCCESS)
                    return HttpResponseRedirect(
                        reverse("admin:subscriptions_subscription_changelist") + "?past_due=yes"
                    )
                status = refusal.status
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "subscription": subscription,
            "organisation": organisation,
            "unpaid": unpaid_invoices(organisation),
            "form": form,
            "title": _("Past due: %(organisation)s") % {"organisation": organisation.name},
        }
        return render(
            request, "admin/subscriptions/subscription/dunning.html", context, status=status
        )


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
