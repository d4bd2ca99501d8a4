"""Forms of the public site. They only shape input; rules live in services."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from organisations.services import address_refusal
from portal.names import NameField


class AddressField(forms.CharField):
    """An organisation's address (its subdomain), trimmed, lower-cased, and written in
    half-width characters (ｓａｋｕｒａ typed with a Japanese input method is sakura)."""

    def to_python(self, value: Any) -> str:
        return unicodedata.normalize("NFKC", str(super().to_python(value))).strip().lower()


class AddressForm(forms.Form):
    """The address alone: the availability check (with or without JavaScript)."""

    address = AddressField(label=_("Address"), max_length=40)

    def clean_address(self) -> str:
        address: str = self.cleaned_data["address"]
        if (refusal := address_refusal(address)) is not None:
            raise forms.ValidationError(str(refusal), code="unavailable")
        return address


def terms_to_accept() -> str:
    """The vendor's terms and privacy policy a sign-up agrees to (their addresses), or ""
    where the deployment names none."""
    return " ".join(filter(None, [settings.PORTAL_TERMS_URL, settings.PORTAL_PRIVACY_URL]))


class SignUpForm(AddressForm):
    organisation_name = NameField(label=_("Organisation name"), max_length=100)
    full_name = NameField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Email address"), max_length=254)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        # The rules before the first try, not only after a refusal.
        help_text=_(
            "At least 8 characters, not only digits, not a common password, and not like "
            "your name or email address."
        ),
    )

    # Shown (and required) when the deployment names its terms and privacy policy.
    terms = forms.BooleanField(
        label=_("I agree to the terms of service and the privacy policy."),
        required=True,
        error_messages={"required": _("Agree to the terms and the privacy policy to go on.")},
    )

    field_order = ["organisation_name", "address", "full_name", "email", "password", "terms"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not terms_to_accept():
            del self.fields["terms"]
        self.fields["organisation_name"].widget.attrs["autocomplete"] = "organization"
        self.fields["address"].widget.attrs.update(
            autocomplete="off", autocapitalize="none", spellcheck="false"
        )
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            someone = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                validate_password(password, someone)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned
