"""An organisation's life on its page in the admin: its trial extended, its closure (at the
end of the paid period, now, or cancelled), its data exported, and its deletion; each a POST
that says what it did, audited by the service it calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from organisations import deletion, exports
from organisations.admin.forms import DeleteOrganisationForm, ExtendTrialForm
from portal.models import Organisation
from portal.refusals import answered
from subscriptions.admin.base import staff_user
from subscriptions.services import closing, closures, trials


class LifecycleViews(admin.ModelAdmin):
    """The base of the organisations' admin, which gives ``_organisation`` and ``_back``."""

    _organisation: Callable[[int], Organisation]
    _back: Callable[[Organisation], HttpResponseRedirect]

    def lifecycle_urls(self, wrap: Callable[..., Any]) -> list[Any]:
        return [
            path("<int:pk>/close/", wrap(self.close_view), name="portal_organisation_close"),
            path("<int:pk>/export/", wrap(self.export_view), name="portal_organisation_export"),
            path("<int:pk>/delete/", wrap(self.delete_now_view), name="portal_organisation_delete"),
            path(
                "<int:pk>/extend-trial/",
                wrap(self.extend_trial_view),
                name="portal_organisation_extend_trial",
            ),
        ]

    def close_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Close the organisation at the end of its paid period or now, or cancel its
        closure (POST ``action``: ``schedule``, ``now``, ``cancel``), audited."""
        organisation = self._organisation(pk)
        action = request.POST.get("action")
        if request.method != "POST" or action not in ("schedule", "now", "cancel"):
            return self._back(organisation)
        staff = staff_user(request)
        with answered(request, admin=self):
            if action == "now":
                closing.close_now(organisation, acting_user=staff)
                done = _("%(organisation)s is closed.")
            elif action == "schedule":
                closures.schedule_closure(organisation, acting_user=staff)
                done = _("%(organisation)s closes at the end of its paid period.")
            else:
                closures.cancel_closure(organisation, acting_user=staff)
                done = _("The closure of %(organisation)s was cancelled.")
            self.message_user(request, done % {"organisation": organisation}, messages.SUCCESS)
        return self._back(organisation)

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Queue an export of the organisation's data, its link emailed to the staff member
        (POST), audited."""
        organisation = self._organisation(pk)
        if request.method == "POST":
            with answered(request, admin=self):
                exports.request_export(organisation, acting_user=staff_user(request))
                self.message_user(
                    request,
                    _("The data of %(organisation)s is being prepared: the link is emailed to you.")
                    % {"organisation": organisation},
                    messages.SUCCESS,
                )
        return self._back(organisation)

    def delete_now_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Delete a closed organisation now (POST: its address typed again, and a reason
        before its grace period ends), audited; a refused one changes nothing and says why."""
        organisation = self._organisation(pk)
        if request.method != "POST":
            return self._back(organisation)
        form = DeleteOrganisationForm(request.POST, organisation=organisation)
        if not form.is_valid():
            self.message_user(
                request,
                _("Nothing was deleted: %(errors)s") % {"errors": form.errors.as_text()},
                messages.ERROR,
            )
            return self._back(organisation)
        with answered(request, admin=self):  # never forced here: only a closed one
            done = deletion.delete_organisation(
                organisation, acting_user=staff_user(request), reason=form.cleaned_data["reason"]
            )
            self.message_user(
                request,
                _("%(organisation)s was deleted: its address is free again on %(date)s.")
                % {
                    "organisation": organisation,
                    "date": date_format(done.address_free_on or "", "DATE_FORMAT"),
                },
                messages.SUCCESS,
            )
        return self._back(organisation)

    def extend_trial_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Give the organisation's trial more days, with the reason (POST), audited."""
        organisation = self._organisation(pk)
        if request.method != "POST":
            return self._back(organisation)
        form = ExtendTrialForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request,
                _("The extension is not valid: %(errors)s") % {"errors": form.errors.as_text()},
                messages.ERROR,
            )
            return self._back(organisation)
        with answered(request, admin=self):
            extended = trials.extend_trial(
                organisation,
                days=form.cleaned_data["days"],
                note=form.cleaned_data["note"],
                acting_user=staff_user(request),
            )
            self.message_user(
                request,
                _("The trial now lasts until %(date)s.")
                % {"date": date_format(extended.period_end, "DATE_FORMAT")},
                messages.SUCCESS,
            )
        return self._back(organisation)
