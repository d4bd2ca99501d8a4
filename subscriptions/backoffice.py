"""The vendor's back office in the Django admin: the refund review queue and the audit
log. Every decision goes through subscriptions.services (audited, with the staff user as
actor); the admin only shows, filters and reports."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.admin import TenantAdminMixin
from django_tenants.utils import schema_context

from accounts.selectors import list_active_users
from portal.admin import DomainInline
from portal.exceptions import DomainError
from portal.models import Organisation
from portal.services import create_organisation
from subscriptions import selectors, services
from subscriptions.charts import Series, bar_chart, hbar_chart
from subscriptions.models import (
    AuditEvent,
    BillingCycle,
    Currency,
    EntitlementOverride,
    Feature,
    Plan,
    PlanTransition,
    RefundRequest,
    RefundStatus,
)
from subscriptions.selectors import AUDIT_COLUMNS, audit_row
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


# action name → (service call, what the form needs)
DECISIONS: dict[str, tuple[Callable[..., RefundRequest], str | None]] = {
    "approve": (
        lambda refund, user, form: services.approve_refund(
            refund, acting_user=user, note=form["note"]
        ),
        None,
    ),
    "reject": (
        lambda refund, user, form: services.reject_refund(
            refund, acting_user=user, note=form["note"]
        ),
        "note",
    ),
    "mark_refunded": (
        lambda refund, user, form: services.mark_refunded(
            refund, acting_user=user, payment_reference=form["reference"]
        ),
        "reference",
    ),
}


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: changes go through subscriptions.services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    actions = ["approve", "reject", "mark_refunded"]
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
        return f"{change.from_plan} → {change.to_plan} ({change.changed_on:%Y-%m-%d})"

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
        description=gettext_lazy(
            "Mark selected refund requests refunded (with the payment reference)"
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
        perform, needs = DECISIONS[decision]
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
            self._apply(request, refund, perform, values)
        return None

    def _apply(
        self,
        request: HttpRequest,
        refund: RefundRequest,
        perform: Callable[..., RefundRequest],
        values: dict[str, str],
    ) -> None:
        label = f"#{refund.pk} {refund.organisation} ({money(refund.amount, refund.currency)})"
        try:
            done = perform(refund, request.user, values)
        except DomainError as error:
            self.message_user(request, f"{label}: {error}", messages.ERROR)
        else:
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
        if refund is None or decision not in DECISIONS:
            raise PermissionDenied
        perform, _needs = DECISIONS[decision]
        form = DecisionForm(request.POST)
        form.is_valid()
        values = {
            "note": form.cleaned_data.get("note", ""),
            "reference": form.cleaned_data.get("reference", ""),
        }
        self._apply(request, refund, perform, values)
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
            context.update(
                refund=refund,
                plan_change=change,
                subscription=getattr(refund.organisation, "subscription", None),
                earlier=RefundRequest.objects.filter(organisation=refund.organisation)
                .exclude(pk=refund.pk)
                .order_by("-requested_at")[:20],
                trail=AuditEvent.objects.filter(
                    target__in=[f"refund:{refund.pk}", f"plan_change:{change.pk}"]
                ).order_by("created_at", "id"),
                may_decide=self.has_decide_permission(request),
                decide_url=reverse("admin:subscriptions_refundrequest_decide", args=[refund.pk]),
            )
        return super().change_view(request, object_id, form_url, context)


class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only for everyone, superusers included, as the database is append-only."""

    list_display = ["created_at", "organisation", "actor_kind", "actor_email", "action", "target"]
    list_filter = [
        "action",
        "actor_kind",
        "organisation",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["action", "actor_email", "target", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation"]
    change_list_template = "admin/subscriptions/auditevent/change_list.html"
    date_hierarchy = None

    def get_urls(self) -> list[Any]:
        export = self.admin_site.admin_view(self.export_view)
        return [
            path("export/", export, name="subscriptions_auditevent_export"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The changelist's filtered and searched events as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        events = self.get_changelist_instance(request).get_queryset(request)

        def rows() -> Iterator[str]:
            buffer = _Echo()
            writer = csv.writer(buffer)
            yield writer.writerow(AUDIT_COLUMNS)
            for event in events.iterator(chunk_size=2000):
                row = audit_row(event)
                yield writer.writerow(
                    [_json(row[c]) if c in ("before", "after") else row[c] for c in AUDIT_COLUMNS]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


# --- Organisations ---------------------------------------------------------------------------


class SeatCountingChangeList(ChangeList):
    """Adds each listed organisation's seats in use, counted in one query."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        used = selectors.active_seat_counts(self.result_list)
        for organisation in self.result_list:
            organisation.seats_used = used.get(organisation.pk, 0)


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=gettext_lazy("New plan"), queryset=Plan.objects.order_by("rank"), to_field_name="code"
    )
    cycle = forms.ChoiceField(
        label=gettext_lazy("Billing cycle"),
        choices=[("", "—"), *BillingCycle.choices],
        required=False,
    )
    seats = forms.IntegerField(
        label=gettext_lazy("Seats"), min_value=1, max_value=services.MAX_SEATS, required=False
    )


class OverrideForm(forms.Form):
    feature = forms.ModelChoiceField(
        label=gettext_lazy("Feature"), queryset=Feature.objects.all(), to_field_name="code"
    )
    limit = forms.IntegerField(
        label=gettext_lazy("Limit"),
        min_value=0,
        required=False,
        help_text=gettext_lazy("For limits; empty means unlimited."),
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)


class OrganisationAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Organisations with their subscription; changed only through services (plan change
    on the customer's behalf, overrides)."""

    list_display = ["name", "slug", "plan", "cycle", "seats", "period_end", "open_refunds"]
    list_filter = ["subscription__plan", "subscription__cycle"]
    search_fields = ["name", "slug"]
    readonly_fields = ["name", "slug", "schema_name", "created_at", "updated_at"]
    inlines = [DomainInline]
    change_form_template = "admin/portal/organisation/detail.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        return (
            super()
            .get_queryset(request)
            .select_related("subscription__plan")
            .annotate(
                pending_refunds=Count(
                    "refund_requests", filter=Q(refund_requests__status=RefundStatus.PENDING)
                )
            )
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SeatCountingChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portal.add_organisation")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return add_organisation_view(self, request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an organisation's data is never deleted

    @admin.display(description=gettext_lazy("plan"), ordering="subscription__plan__rank")
    def plan(self, organisation: Organisation) -> str:
        subscription = getattr(organisation, "subscription", None)
        return str(subscription.plan) if subscription else "—"

    @admin.display(description=gettext_lazy("billing cycle"))
    def cycle(self, organisation: Organisation) -> str:
        subscription = getattr(organisation, "subscription", None)
        return subscription.get_cycle_display() if subscription else "—"

    @admin.display(description=gettext_lazy("seats used / licensed"))
    def seats(self, organisation: Organisation) -> str:
        subscription = getattr(organisation, "subscription", None)
        used = getattr(organisation, "seats_used", "?")
        return f"{used} / {subscription.seats}" if subscription else "—"

    @admin.display(description=gettext_lazy("period end"), ordering="subscription__period_end")
    def period_end(self, organisation: Organisation) -> Any:
        subscription = getattr(organisation, "subscription", None)
        return subscription.period_end if subscription else None

    @admin.display(description=gettext_lazy("open refund requests"), ordering="pending_refunds")
    def open_refunds(self, organisation: Organisation) -> int:
        return organisation.pending_refunds

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/change-plan/",
                wrap(self.change_plan_view),
                name="portal_organisation_change_plan",
            ),
            path(
                "<int:pk>/overrides/",
                wrap(self.grant_override_view),
                name="portal_organisation_grant_override",
            ),
            path(
                "<int:pk>/overrides/<int:override_pk>/revoke/",
                wrap(self.revoke_override_view),
                name="portal_organisation_revoke_override",
            ),
            *super().get_urls(),
        ]

    def _organisation(self, pk: int) -> Organisation:
        organisation = Organisation.objects.filter(pk=pk).first()
        if organisation is None:
            raise Http404
        return organisation

    def _back(self, organisation: Organisation) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:portal_organisation_change", args=[organisation.pk])
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        organisation = self.get_object(request, object_id)  # None for an unknown or odd id
        context = dict(extra_context or {})
        if organisation is not None:
            context.update(
                organisation=organisation,
                subscription=getattr(organisation, "subscription", None),
                seats_used=selectors.seats_in_use(organisation),
                overrides=EntitlementOverride.objects.filter(
                    organisation=organisation
                ).select_related("feature"),
                plan_changes=selectors.plan_changes_of(organisation)[:20],
                timeline=AuditEvent.objects.filter(organisation=organisation).order_by(
                    "-created_at", "-id"
                )[:50],
                change_plan_form=ChangePlanForm(),
                override_form=OverrideForm(),
            )
        return super().change_view(request, object_id, form_url, context)

    def change_plan_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The same preview and rules as the Store, on the customer's behalf."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        organisation = self._organisation(pk)
        form = ChangePlanForm(request.POST or request.GET or None)
        preview = None
        active_users: list[Any] = []
        if form.is_valid():
            plan, cycle, seats = (
                form.cleaned_data["plan"],
                form.cleaned_data["cycle"] or None,
                form.cleaned_data["seats"],
            )
            try:
                preview = services.preview_plan_change(
                    organisation, plan.code, cycle=cycle, seats=seats
                )
            except DomainError as error:
                self.message_user(request, str(error), messages.ERROR)
            if preview is not None and preview.seats_over:
                with schema_context(organisation.schema_name):
                    active_users = list(list_active_users())
            if request.method == "POST" and preview is not None and "confirm" in request.POST:
                keep = [int(pk) for pk in request.POST.getlist("keep") if pk.isdigit()]
                try:
                    change = services.change_plan(
                        organisation,
                        plan.code,
                        acting_user=request.user,
                        cycle=cycle,
                        seats=seats,
                        keep_user_ids=keep,
                        idempotency_key=request.POST.get("idempotency_key") or None,
                    )
                except DomainError as error:
                    self.message_user(request, str(error), messages.ERROR)
                else:
                    self.message_user(
                        request,
                        _("%(organisation)s is now on the %(plan)s plan.")
                        % {"organisation": organisation, "plan": change.to_plan},
                        messages.SUCCESS,
                    )
                    return self._back(organisation)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change the plan of %(organisation)s") % {"organisation": organisation},
            "organisation": organisation,
            "form": form,
            "preview": preview,
            "active_users": active_users,
            "idempotency_key": uuid.uuid4().hex,
            "opts": Organisation._meta,
        }
        return TemplateResponse(request, "admin/portal/organisation/change_plan.html", context)

    def grant_override_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        organisation = self._organisation(pk)
        if request.method != "POST":
            return self._back(organisation)
        form = OverrideForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request,
                _("The override is not valid: %(errors)s") % {"errors": form.errors.as_text()},
                messages.ERROR,
            )
            return self._back(organisation)
        try:
            services.grant_override(
                organisation,
                form.cleaned_data["feature"].code,
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
                limit=form.cleaned_data["limit"],
                valid_until=form.cleaned_data["valid_until"],
            )
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, _("The override was granted."), messages.SUCCESS)
        return self._back(organisation)

    def revoke_override_view(self, request: HttpRequest, pk: int, override_pk: int) -> HttpResponse:
        organisation = self._organisation(pk)
        override = EntitlementOverride.objects.filter(
            pk=override_pk, organisation=organisation
        ).first()
        if request.method == "POST" and override is not None:
            try:
                services.revoke_override(override, acting_user=request.user)
            except DomainError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, _("The override was revoked."), messages.SUCCESS)
        return self._back(organisation)


def insight_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Charts of plan changes, feedback reasons and refunds, with their figures."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    data = selectors.insight()
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


class NewOrganisationForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    slug = forms.CharField(
        label=gettext_lazy("Address"),
        max_length=40,
        help_text=gettext_lazy("e.g. “acme” for acme.localhost"),
    )
    primary_contact_email = forms.EmailField(label=gettext_lazy("Primary contact's email"))
    primary_contact_name = forms.CharField(
        label=gettext_lazy("Primary contact's name"), max_length=150, required=False
    )
    plan = forms.ModelChoiceField(
        label=gettext_lazy("Plan"), queryset=Plan.objects.order_by("rank"), to_field_name="code"
    )
    seats = forms.IntegerField(
        label=gettext_lazy("Seats"), min_value=1, max_value=services.MAX_SEATS, required=False
    )
    cycle = forms.ChoiceField(label=gettext_lazy("Billing cycle"), choices=BillingCycle.choices)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), choices=Currency.choices)


def add_organisation_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Create an organisation as the command does: schema, domain, first department,
    primary contact (who gets a set-password link), subscription."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = NewOrganisationForm(request.POST or None, initial={"plan": "free"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = create_organisation(
                name=data["name"],
                slug=data["slug"],
                primary_contact_email=data["primary_contact_email"],
                primary_contact_name=data["primary_contact_name"],
                plan_code=data["plan"].code,
                seats=data["seats"],
                cycle=data["cycle"],
                currency=data["currency"],
                acting_user=request.user,
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            model_admin.message_user(
                request,
                _(
                    "%(organisation)s was created. Send its primary contact this link to "
                    "choose a password: %(link)s"
                )
                % {"organisation": created.organisation, "link": created.set_password_url},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:portal_organisation_change", args=[created.organisation.pk])
            )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Add organisation"),
        "form": form,
        "opts": Organisation._meta,
    }
    return TemplateResponse(request, "admin/portal/organisation/add.html", context)
