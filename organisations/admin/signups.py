"""Sign-ups from the public site in the admin: who, which address, how far they got, and why
a provisioning failed; a failed one tried again."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from organisations import signups
from portal.models import SignUp
from portal.refusals import answered
from subscriptions.admin.base import staff_user


@admin.register(SignUp)
class SignUpAdmin(admin.ModelAdmin):
    """Sign-ups from the public site, newest first: who, which address, how far they got,
    and why a provisioning failed. Shown, not edited: a failed one can be retried
    (``portal.change_signup``), an unwanted one deleted, which frees its address."""

    list_display = [
        "created_at",
        "organisation_name",
        "slug",
        "email",
        "state",
        "attempts",
        "expires_at",
        "organisation",
    ]
    list_filter = ["state", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["organisation_name", "slug", "email"]
    list_select_related = ["organisation"]
    exclude = ["password"]
    readonly_fields = ["terms_accepted", "terms_accepted_at"]  # what they agreed to, when
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portal.change_signup")

    @admin.action(
        description=gettext_lazy("Try again to create the selected failed sign-ups"),
        permissions=["retry"],
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[SignUp]) -> None:
        retried = 0
        for sign_up in queryset.filter(state=SignUp.State.FAILED):
            with answered(request, admin=self, about=str(sign_up)):
                signups.retry(sign_up, acting_user=staff_user(request))
                retried += 1
        self.message_user(
            request,
            ngettext("%(count)d sign-up queued again.", "%(count)d sign-ups queued again.", retried)
            % {"count": retried},
            messages.SUCCESS if retried else messages.WARNING,
        )
