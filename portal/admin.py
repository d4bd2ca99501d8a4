"""The tenant registry's admin: sign-ups, and the domains shown with organisations (which
are registered with their subscription in subscriptions.admin; public site only)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User
from portal import signups
from portal.exceptions import DomainError
from portal.models import Domain, SignUp


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    readonly_fields = ["domain", "is_primary"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
            try:
                signups.retry(sign_up, acting_user=cast(User, request.user))
            except DomainError as error:
                self.message_user(request, f"{sign_up}: {error}", messages.ERROR)
            else:
                retried += 1
        self.message_user(
            request,
            ngettext("%(count)d sign-up queued again.", "%(count)d sign-ups queued again.", retried)
            % {"count": retried},
            messages.SUCCESS if retried else messages.WARNING,
        )
