"""The refund review queue in the admin: pending requests first, oldest first; a review
page with the change, the quote's calculation and the audit trail; Approve, Reject (with
a note) and Mark refunded (with the payment reference), one at a time or in bulk, each
through ``services.refunds``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from audit.selectors import events_about
from portal.admin import ReadOnlyAdmin
from portal.refusals import answered
from subscriptions.admin.base import staff_user
from subscriptions.models import PlanTransition, RefundRequest, RefundStatus
from subscriptions.selectors import backoffice, ledger
from subscriptions.services import refunds
from subscriptions.templatetags.subscriptions import money

DECIDE = "subscriptions.decide_refundrequest"


class PlanPathFilter(admin.SimpleListFilter):
    title = gettext_lazy("plan change")
    parameter_name = "path"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        transitions = PlanTransition.objects.filter(kind="downgrade").select_related(
            "from_plan", "to_plan"
        )
        return [(f"{t.from_plan.code}>{t.to_plan.code}", str(t)) for t in transitions]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or ""
        if ">" not in value:
            return queryset
        from_code, to_code = value.split(">", 1)
        return queryset.filter(
            plan_change__from_plan__code=from_code, plan_change__to_plan__code=to_code
        )


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    reference = forms.CharField(
        label=gettext_lazy("Payment reference"), required=False, max_length=100
    )


# What a decision requires (services.refunds.REFUND_MOVES) → the form's field that holds it.
FORM_FIELDS = {"note": "note", "payment_reference": "reference"}


def _perform(
    refund: RefundRequest, decision: str, user: User, values: dict[str, str]
) -> RefundRequest:
    return refunds.decide_refund(
        refund,
        decision,
        acting_user=user,
        note=values.get("note", ""),
        payment_reference=values.get("reference", ""),
    )


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin):
    """The review queue: pending first, oldest first. Nobody edits or deletes a request;
    decisions are actions."""

    list_display = [
        "organisation",
        "plan_path",
        "amount_display",
        "requested_by_email",
        "age",
        "status_display",
    ]
    list_filter = [
        "status",
        "currency",
        PlanPathFilter,
        ("requested_at", admin.DateFieldListFilter),
    ]
    search_fields = ["organisation__name", "organisation__slug", "requested_by_email"]
    actions = ["approve", "reject", "pay", "mark_refunded"]
    change_form_template = "admin/subscriptions/refundrequest/review.html"
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[RefundRequest]:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "organisation__subscription__plan", "plan_change__from_plan", "plan_change__to_plan"
            )
        )

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        pending_first = Case(
            When(status=RefundStatus.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return [pending_first.asc(), "requested_at", "pk"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DECIDE)

    @admin.display(description=gettext_lazy("plan change"), ordering="plan_change__created_at")
    def plan_path(self, refund: RefundRequest) -> str:
        change = refund.plan_change
        return _("%(from)s → %(to)s (%(date)s)") % {
            "from": change.from_plan,
            "to": change.to_plan,
            "date": date_format(change.changed_on, "DATE_FORMAT"),
        }

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, refund: RefundRequest) -> str:
        return money(refund.amount, refund.currency)

    @admin.display(description=gettext_lazy("age"), ordering="requested_at")
    def age(self, refund: RefundRequest) -> str:
        return timesince(refund.requested_at, timezone.now())

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_display(self, refund: RefundRequest) -> str:
        return format_html(
            '<span class="refund-status refund-status--{}">{}</span>',
            refund.status,
            refund.get_status_display(),
        )

    # --- Actions, single and in bulk -----------------------------------------------------

    @admin.action(
        description=gettext_lazy("Approve selected refund requests"), permissions=["decide"]
    )
    def approve(
        self, request: HttpRequest, queryset: QuerySet[RefundRequest]
    ) -> HttpResponse | None:
        return self._decide(request, queryset, "approve")

    @admin.action(
        description=gettext_lazy("Reject selected refund requests (with a note)"),
        permissions=["decide"],
    )
    def reject(
        self, request: HttpRequest, queryset: QuerySet[RefundRequest]
    ) -> HttpResponse | None:
        return self._decide(request, queryset, "reject")

    @admin.action(
        description=gettext_lazy("Pay selected refunds through the payment provider"),
        permissions=["decide"],
    )
    def pay(self, request: HttpRequest, queryset: QuerySet[RefundRequest]) -> HttpResponse | None:
        return self._decide(request, queryset, "pay")

    @admin.action(
        description=gettext_lazy(
            "Mark selected refund requests refunded outside the provider (with the reference)"
        ),
        permissions=["decide"],
    )
    def mark_refunded(
        self, request: HttpRequest, queryset: QuerySet[RefundRequest]
    ) -> HttpResponse | None:
        return self._decide(request, queryset, "mark_refunded")

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[RefundRequest], decision: str
    ) -> HttpResponse | None:
        """Apply a decision to each request; a refusal is reported for its item only.
        Decisions needing a note or a reference first ask for it."""
        requires = refunds.STAFF_DECISIONS[decision].requires
        needs = FORM_FIELDS[requires] if requires else None
        form = DecisionForm(request.POST if "apply" in request.POST else None)
        if needs and not (form.is_valid() and form.cleaned_data[needs].strip()):
            if form.is_bound:
                form.add_error(needs, _("This is required."))
            return TemplateResponse(
                request,
                "admin/subscriptions/refundrequest/decision.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Reject refund requests")
                    if decision == "reject"
                    else _("Mark refund requests refunded"),
                    "form": form,
                    "needs": needs,
                    "decision": decision,
                    "refunds": list(queryset),
                    "opts": self.model._meta,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        values = (
            form.cleaned_data
            if form.is_bound and form.is_valid()
            else {"note": "", "reference": ""}
        )
        for refund in queryset:
            self._apply(request, refund, decision, values)
        return None

    def _apply(
        self,
        request: HttpRequest,
        refund: RefundRequest,
        decision: str,
        values: dict[str, str],
    ) -> None:
        label = f"#{refund.pk} {refund.organisation} ({money(refund.amount, refund.currency)})"
        with answered(request, admin=self, about=label):
            done = _perform(refund, decision, staff_user(request), values)
            self.message_user(request, f"{label}: {done.get_status_display()}", messages.SUCCESS)

    # --- The review page -----------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        review = self.admin_site.admin_view(self.decide_view)
        return [
            path("<int:pk>/decide/", review, name="subscriptions_refundrequest_decide"),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One decision from the review page."""
        if request.method != "POST" or not self.has_decide_permission(request):
            raise PermissionDenied
        refund = RefundRequest.objects.filter(pk=pk).select_related("organisation").first()
        decision = request.POST.get("decision", "")
        if refund is None or decision not in refunds.STAFF_DECISIONS:
            raise PermissionDenied
        form = DecisionForm(request.POST)
        form.is_valid()
        values = {
            "note": form.cleaned_data.get("note", ""),
            "reference": form.cleaned_data.get("reference", ""),
        }
        self._apply(request, refund, decision, values)
        return HttpResponseRedirect(reverse("admin:subscriptions_refundrequest_change", args=[pk]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        refund = self.get_object(request, object_id)  # None for an unknown or odd id
        context = dict(extra_context or {})
        if refund is not None:
            change = refund.plan_change
            subscription = getattr(refund.organisation, "subscription", None)
            context.update(
                refund=refund,
                plan_change=change,
                subscription=subscription,
                paid_for_period=ledger.paid_for_period(subscription) if subscription else None,
                earlier=RefundRequest.objects.filter(organisation=refund.organisation)
                .exclude(pk=refund.pk)
                .order_by("-requested_at")[:20],
                trail=events_about(refund, change),
                later_changes=backoffice.later_changes(change),
                may_decide=self.has_decide_permission(request),
                decisions=[move.decision for move in refunds.staff_decisions(refund)],
                fields={field for move in refunds.staff_decisions(refund) for field in move.takes},
                decide_url=reverse("admin:subscriptions_refundrequest_decide", args=[refund.pk]),
            )
        return super().change_view(request, object_id, form_url, context)
