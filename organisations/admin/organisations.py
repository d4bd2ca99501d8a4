"""Organisations in the admin: the list with plan, seats used/licensed and open refunds; each
one's page with its subscription, overrides (grant, revoke), plan changes and audit trail; a
plan change on the customer's behalf (the Store's preview and rules); new organisations,
created as ``manage.py create_organisation`` does (subscriptions and overrides have
read-only lists in ``subscriptions.admin``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.admin import TenantAdminMixin
from django_tenants.utils import tenant_context

from accounts.selectors import list_active_users
from audit.selectors import events_of
from organisations.admin.forms import (
    ChangePlanForm,
    DeleteOrganisationForm,
    ExtendTrialForm,
    NewOrganisationForm,
    OverrideForm,
)
from organisations.admin.lifecycle import LifecycleViews
from organisations.deletion import deletion_of
from organisations.services import create_organisation
from portal import clock
from portal.clock import closed_export_until
from portal.models import Domain, Organisation
from portal.refusals import answered
from subscriptions.admin.base import staff_user
from subscriptions.models import (
    EntitlementOverride,
    RefundStatus,
    ScheduledChange,
)
from subscriptions.selectors import entitlements, ledger, previews, store
from subscriptions.selectors.scheduled_changes import scheduled_change_of
from subscriptions.services import changes, overrides, scheduled_changes


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    readonly_fields = ["domain", "is_primary"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(TenantAdminMixin, LifecycleViews):
    """Organisations with their subscription; changed only through services (plan change
    on the customer's behalf, overrides)."""

    list_display = [
        "name",
        "slug",
        "plan",
        "cycle",
        "seats",
        "period_end",
        "open_refunds",
        "today",
    ]
    list_filter = ["subscription__plan", "subscription__cycle"]
    search_fields = ["name", "slug"]
    readonly_fields = ["name", "slug", "schema_name", "today", "created_at", "updated_at"]
    inlines = [DomainInline]
    change_form_template = "admin/portal/organisation/detail.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        # Deleted ones too: their books are kept, their pages say what remains.
        return Organisation.all_objects.select_related("subscription__plan").annotate(
            pending_refunds=Count(
                "refund_requests", filter=Q(refund_requests__status=RefundStatus.PENDING)
            )
        )

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

    @admin.display(description=gettext_lazy("today"), ordering="clock_date")
    def today(self, organisation: Organisation) -> str:
        """The organisation's day: its test clock's, said so (portal/clock.py)."""
        day = date_format(clock.today(organisation), "DATE_FORMAT")
        if clock.on_test_clock(organisation):
            return _("%(day)s (test clock)") % {"day": day}
        return day

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
        return f"{subscription.seats_in_use} / {subscription.seats}" if subscription else "—"

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
            *self.lifecycle_urls(wrap),
            path(
                "<int:pk>/cancel-scheduled/",
                wrap(self.cancel_scheduled_view),
                name="portal_organisation_cancel_scheduled",
            ),
            *super().get_urls(),
        ]

    def _organisation(self, pk: int) -> Organisation:
        organisation = Organisation.all_objects.filter(pk=pk).first()
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
            subscription = getattr(organisation, "subscription", None)
            context.update(
                organisation=organisation,
                subscription=subscription,
                paid_for_period=ledger.paid_for_period(subscription) if subscription else None,
                seats_used=entitlements.seats_in_use(organisation),
                overrides=EntitlementOverride.objects.filter(
                    organisation=organisation
                ).select_related("feature"),
                plan_changes=store.plan_changes_of(organisation)[:20],
                scheduled=scheduled_change_of(organisation),
                timeline=events_of(organisation)[:50],
                change_plan_form=ChangePlanForm(),
                override_form=OverrideForm(),
                extend_trial_form=ExtendTrialForm(),
                deletion=deletion_of(organisation),
                delete_on=closed_export_until(organisation),
                delete_form=DeleteOrganisationForm(organisation=organisation),
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
        status = 200
        if form.is_valid():
            plan, cycle, seats = (
                form.cleaned_data["plan"],
                form.cleaned_data["cycle"] or None,
                form.cleaned_data["seats"],
            )
            with answered(request, admin=self):
                preview = previews.preview_plan_change(
                    organisation, plan.code, cycle=cycle, seats=seats
                )
            if preview is not None and preview.seats_over:
                with tenant_context(organisation):
                    active_users = list(list_active_users())
            wanted = {"confirm", "schedule"} & request.POST.keys()
            if request.method == "POST" and preview is not None and wanted:
                keep = [int(pk) for pk in request.POST.getlist("keep") if pk.isdigit()]
                with answered(request, admin=self) as refusal:
                    done = self._change_plan(
                        request,
                        organisation,
                        plan.code,
                        cycle=cycle,
                        seats=seats,
                        keep=keep,
                        at_period_end="schedule" in wanted,
                        promise=request.POST.get("promise", ""),
                    )
                    self.message_user(request, done, messages.SUCCESS)
                    return self._back(organisation)
                status = refusal.status
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
        # A POST that reaches here changed nothing: it is answered with its errors (and
        # the figures as they are now, when they moved since the page was shown: 409).
        if request.method == "POST" and status == 200:
            status = 400
        return TemplateResponse(
            request, "admin/portal/organisation/change_plan.html", context, status=status
        )

    def _change_plan(
        self,
        request: HttpRequest,
        organisation: Organisation,
        plan_code: str,
        *,
        cycle: str | None,
        seats: int | None,
        keep: list[int],
        at_period_end: bool,
        promise: str,
    ) -> str:
        """Make the change now or schedule it for the period's end, as the page showed it
        (``promise``), once for the page's key; says what was done."""
        done = changes.confirm_change(
            organisation,
            plan_code,
            at_period_end=at_period_end,
            acting_user=staff_user(request),
            cycle=cycle,
            seats=seats,
            keep_user_ids=keep,
            promise=promise,
            idempotency_key=request.POST.get("idempotency_key") or None,
        )
        if isinstance(done, ScheduledChange):
            return _("%(organisation)s moves to the %(plan)s plan on %(date)s.") % {
                "organisation": organisation,
                "plan": done.to_plan,
                "date": date_format(done.effective, "DATE_FORMAT"),
            }
        return _("%(organisation)s is now on the %(plan)s plan.") % {
            "organisation": organisation,
            "plan": done.to_plan,
        }

    def cancel_scheduled_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Cancel the organisation's change scheduled for the end of the period (POST)."""
        organisation = self._organisation(pk)
        if request.method == "POST":
            with answered(request, admin=self):
                scheduled_changes.cancel_scheduled_change(
                    organisation, acting_user=staff_user(request)
                )
                self.message_user(
                    request, _("The scheduled change was cancelled."), messages.SUCCESS
                )
        return self._back(organisation)

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
        with answered(request, admin=self):
            overrides.grant_override(
                organisation,
                form.cleaned_data["feature"].code,
                acting_user=staff_user(request),
                reason=form.cleaned_data["reason"],
                limit=form.cleaned_data["limit"],
                valid_until=form.cleaned_data["valid_until"],
            )
            self.message_user(request, _("The override was granted."), messages.SUCCESS)
        return self._back(organisation)

    def revoke_override_view(self, request: HttpRequest, pk: int, override_pk: int) -> HttpResponse:
        organisation = self._organisation(pk)
        override = EntitlementOverride.objects.filter(
            pk=override_pk, organisation=organisation
        ).first()
        if request.method == "POST" and override is not None:
            with answered(request, admin=self):
                overrides.revoke_override(override, acting_user=staff_user(request))
                self.message_user(request, _("The override was revoked."), messages.SUCCESS)
        return self._back(organisation)


def add_organisation_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Create an organisation as the command does: schema, domain, first department,
    primary contact (who gets a set-password link), subscription."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = NewOrganisationForm(request.POST or None, initial={"plan": "free"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with answered(request, form=form):
            created = create_organisation(
                name=data["name"],
                slug=data["slug"],
                primary_contact_email=data["primary_contact_email"],
                primary_contact_name=data["primary_contact_name"],
                plan_code=data["plan"].code,
                seats=data["seats"],
                cycle=data["cycle"],
                currency=data["currency"],
                acting_user=staff_user(request),
            )
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
