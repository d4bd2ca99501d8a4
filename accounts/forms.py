"""Forms of the organisation pages. They only shape input; rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.names import NameField


class InviteUserForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    full_name = NameField(label=_("Full name"), max_length=150, required=False)
    is_administrator = forms.BooleanField(
        label=_("Administrator"), required=False, help_text=_("May manage users and departments.")
    )
    is_super_admin = forms.BooleanField(
        label=_("Super admin"),
        required=False,
        help_text=_("May also manage roles and the subscription."),
    )

    def __init__(self, *args: Any, may_grant_super_admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_grant_super_admin:
            del self.fields["is_super_admin"]


class RolesForm(forms.Form):
    is_administrator = forms.BooleanField(
        label=_("Administrator"), required=False, help_text=_("May manage users and departments.")
    )
    is_super_admin = forms.BooleanField(
        label=_("Super admin"),
        required=False,
        help_text=_("May also manage roles and the subscription."),
    )

    def __init__(self, *args: Any, may_grant_super_admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_grant_super_admin:
            self.fields["is_super_admin"].disabled = True


class DepartmentForm(forms.Form):
    name = NameField(label=_("Department name"), max_length=100)
