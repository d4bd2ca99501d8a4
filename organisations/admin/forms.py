"""The forms of the organisations' admin pages: a plan change on the customer's behalf, an
override granted, a trial extended, an organisation deleted, a new organisation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from portal.models import Organisation
from portal.names import NameField
from subscriptions.models import BillingCycle, Currency, Feature, Plan
from subscriptions.selectors.catalogue import MAX_SEATS
from subscriptions.services.trials import MAX_EXTENSION_DAYS


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
        label=gettext_lazy("Seats"), min_value=1, max_value=MAX_SEATS, required=False
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


class ExtendTrialForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("Days to add"), min_value=1, max_value=MAX_EXTENSION_DAYS, initial=7
    )
    note = forms.CharField(label=gettext_lazy("Reason"), max_length=200)


class DeleteOrganisationForm(forms.Form):
    """Deleting a closed organisation: its address typed again, and why (needed before its
    grace period ends: ``organisations.deletion``)."""

    address = forms.CharField(
        label=gettext_lazy("Type the organisation's address to confirm"), max_length=40
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False)

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean_address(self) -> str:
        address = str(self.cleaned_data["address"]).strip().lower()
        if address != self.organisation.slug:
            raise forms.ValidationError(
                gettext_lazy("This is not the organisation's address."), code="not_the_address"
            )
        return address


class NewOrganisationForm(forms.Form):
    name = NameField(label=gettext_lazy("Name"), max_length=100)
    slug = forms.CharField(
        label=gettext_lazy("Address"),
        max_length=40,
        help_text=gettext_lazy("e.g. “acme” for acme.localhost"),
    )
    primary_contact_email = forms.EmailField(label=gettext_lazy("Primary contact's email"))
    primary_contact_name = NameField(
        label=gettext_lazy("Primary contact's name"), max_length=150, required=False
    )
    plan = forms.ModelChoiceField(
        label=gettext_lazy("Plan"), queryset=Plan.objects.order_by("rank"), to_field_name="code"
    )
    seats = forms.IntegerField(
        label=gettext_lazy("Seats"), min_value=1, max_value=MAX_SEATS, required=False
    )
    cycle = forms.ChoiceField(label=gettext_lazy("Billing cycle"), choices=BillingCycle.choices)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), choices=Currency.choices)
